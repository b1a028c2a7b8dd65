// The coverage overlay: how many orders of a version took each step and each edge. An edge's
// width grows with the log of its count and a label gives the count (a never-taken edge is
// thin, dashed and grey); a step carries a small count; a legend lists the edges no order
// took. Real orders run on published versions, so the overlay starts on the latest one (the
// version being viewed, when one is), and its legend picks another or the draft's test runs.
//
// The overlay only writes view attrs (out of undo, not in the draft) and stores, per edge, the
// line values and labels it replaced. Whatever else redraws an edge while it is on (a
// selection, a problem pinned, a kind edited) is noticed and taken as the edge's own look,
// which the overlay is drawn over again, so that turning it off gives back exactly the look
// the edge would have had without it.
import { api, describeFailure } from "./api.js";
import { nodeOf } from "./convert.js";
import { stepName } from "./names.js";
import { el } from "./dom.js";

const TAKEN = "#4f46e5";
const NEVER = "#94a3b8";
const LINE_KEYS = ["stroke", "strokeWidth", "strokeDasharray"];
const TOOLS = "coverage";

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const plural = (n, one) => `${n} ${one}${n === 1 ? "" : "s"}`;
const edgeKey = (source, target, kind) => `${source}\u0000${target}\u0000${kind || "next"}`;

/** The line of an edge that `count` orders took, when the busiest took `max`. */
export function lineLook(count, max) {
  if (!count) return { stroke: NEVER, strokeWidth: 1.5, strokeDasharray: "5 4" };
  const share = max > 1 ? Math.log1p(count) / Math.log1p(max) : 1;
  return { stroke: TAKEN, strokeWidth: Math.round((2 + 4 * share) * 10) / 10, strokeDasharray: null };
}

/** A label like the editor's (sized from the text's length), carrying the count. */
function countLabel(text, color, position) {
  const width = Math.ceil(String(text).length * 6.4) + 14;
  return {
    attrs: {
      label: { text, fill: color, fontWeight: 700 },
      body: { stroke: color, width, x: -width / 2, fill: "#fff" },
    },
    position,
  };
}

/** The edge's labels with its count: in its kind's label ("true · 12"), else one of its own. */
function labelsWithCount(labels, count) {
  const color = count ? TAKEN : NEVER;
  const [first, ...rest] = labels || [];
  const kindText = first?.attrs?.label?.text;
  if (!kindText) return [countLabel(String(count), color, { distance: 0.5 }), ...(labels || [])];
  const kindColor = first.attrs.label.fill || color;
  return [countLabel(`${kindText} · ${count}`, kindColor, first.position || { distance: 34 }), ...rest];
}

function countTool(counts) {
  const total = counts.real + counts.test;
  const text = total > 9999 ? `${Math.round(total / 1000)}k` : String(total);
  const width = Math.max(20, text.length * 6.6 + 12);
  const fill = total ? TAKEN : "#e2e8f0";
  return {
    name: "button",
    args: {
      x: 10, y: -8,
      markup: [
        { tagName: "title", textContent: `${total} order${total === 1 ? "" : "s"} took this step (${counts.real} real, ${counts.test} test)` },
        { tagName: "rect", attrs: { width, height: 16, rx: 8, ry: 8, fill, stroke: "#fff", "stroke-width": 1.5, cursor: "default" } },
        { tagName: "text", textContent: text, attrs: {
          x: width / 2, y: 8.5, fill: total ? "#fff" : "#475569", "font-size": 10.5, "font-weight": 700,
          "text-anchor": "middle", "dominant-baseline": "middle", "pointer-events": "none" } },
      ],
    },
  };
}

export function createCoverage(editor, root) {
  const { graph } = editor;
  const button = root.querySelector("[data-action=coverage]");
  const legend = root.querySelector("#coverage-legend");
  const versionField = legend.querySelector("select[name=version]");
  const totals = legend.querySelector("[data-coverage-orders]");
  const neverList = legend.querySelector("[data-never-taken]");
  const neverHead = legend.querySelector("[data-never-head]");
  const message = legend.querySelector("[data-coverage-error]");
  const limitedNote = legend.querySelector("[data-coverage-limited]");
  const unmatched = legend.querySelector("[data-coverage-unmatched]");
  let on = false;
  let chosen = null;  // a version picked in the legend; null: the one shown, or the latest
  let answer = null;
  let seq = 0;
  let applying = false;
  // edge id -> { line: its own line values, labels: its own labels, applied: what the overlay set }
  const drawn = new Map();
  const gone = new Map();  // overlaid edges deleted: an undo brings them back as they were drawn
  const tooled = new Set();  // node ids
  const pending = new Set();

  // ---- drawing -------------------------------------------------------------------------------
  function paint(edge, entry) {
    const look = lineLook(entry.count, entry.max);
    const labels = labelsWithCount(entry.labels, entry.count);
    applying = true;
    edge.setAttrs({ line: look });
    edge.setLabels(labels);
    applying = false;
    entry.applied = { line: look, labels: JSON.stringify(labels) };
    const box = graph.findViewByCell(edge)?.container;
    if (box) box.dataset.coverage = String(entry.count);
  }

  /** Draw `data` on the canvas; how many of the canvas's edges and steps it does not have. */
  function draw(data) {
    const counts = new Map(data.edges.map((edge) => [edgeKey(edge.source, edge.target, edge.kind), edge.real + edge.test]));
    const max = Math.max(0, ...counts.values());
    const missing = { edges: 0, steps: 0 };
    for (const edge of graph.getEdges()) {
      const source = edge.getSourceCell();
      const target = edge.getTargetCell();
      if (!source || !target) continue;
      const count = counts.get(edgeKey(nodeOf(source).id, nodeOf(target).id, edge.getData()?.kind));
      if (count === undefined) { missing.edges += 1; continue; }  // not an edge of that version
      const line = edge.getAttrs()?.line || {};
      const entry = {
        count, max, labels: clone(edge.getLabels()),
        line: Object.fromEntries(LINE_KEYS.filter((key) => key in line).map((key) => [key, clone(line[key])])),
      };
      drawn.set(edge.id, entry);
      paint(edge, entry);
    }
    for (const cell of graph.getNodes()) {
      const counts = data.nodes[nodeOf(cell).id];
      if (!counts) { missing.steps += 1; continue; }
      applying = true;
      cell.addTools([countTool(counts)], TOOLS, { reset: true });
      applying = false;
      tooled.add(cell.id);
    }
    return missing;
  }

  /** The edge's own look back: its line values and labels as they were before the overlay. */
  function giveBack(edge, entry) {
    const attrs = clone(edge.getAttrs()) || {};
    const line = attrs.line || {};
    for (const key of LINE_KEYS) {
      if (key in entry.line) line[key] = entry.line[key];
      else delete line[key];
    }
    applying = true;
    edge.setAttrs({ ...attrs, line }, { overwrite: true });
    edge.setLabels(entry.labels || []);
    applying = false;
    delete graph.findViewByCell(edge)?.container.dataset.coverage;
  }

  function restore() {
    for (const [id, entry] of drawn) {
      const edge = graph.getCellById(id);
      if (edge) giveBack(edge, entry);
    }
    applying = true;
    for (const id of tooled) graph.getCellById(id)?.removeTools();
    applying = false;
    drawn.clear();
    tooled.clear();
  }

  function removed({ cell }) {
    if (drawn.has(cell.id)) gone.set(cell.id, drawn.get(cell.id));
    drawn.delete(cell.id);
    tooled.delete(cell.id);
  }

  // back by an undo, with the look it had when deleted: drawn on, or given back its own
  function added({ cell }) {
    if (cell.isNode()) {
      if (!cell.hasTools(TOOLS)) return;
      if (on && answer) tooled.add(cell.id);
      else cell.removeTools();
      return;
    }
    const entry = gone.get(cell.id);
    if (!entry) return;
    gone.delete(cell.id);
    if (on && answer) { drawn.set(cell.id, entry); paint(cell, entry); } else giveBack(cell, entry);
  }

  // Something else drew on an overlaid edge: what it set is the edge's own look from now on.
  function adopt(edge) {
    const entry = drawn.get(edge.id);
    if (!entry || !graph.hasCell(edge)) return;
    const line = edge.getAttrs()?.line || {};
    let changed = false;
    for (const key of LINE_KEYS) {
      if (JSON.stringify(line[key] ?? null) === JSON.stringify(entry.applied.line[key] ?? null)) continue;
      entry.line[key] = clone(line[key]);
      changed = true;
    }
    const labels = JSON.stringify(edge.getLabels());
    if (labels !== entry.applied.labels) {
      entry.labels = clone(edge.getLabels());
      changed = true;
    }
    if (changed) paint(edge, entry);
  }

  function noticeChange({ cell }) {
    if (applying || !drawn.has(cell.id)) return;
    if (!pending.size) queueMicrotask(() => { for (const edge of [...pending]) adopt(edge); pending.clear(); });
    pending.add(cell);
  }

  // ---- the legend ----------------------------------------------------------------------------
  function renderLegend(data, missing) {
    const { real, test } = data.orders;
    const name = data.version === "draft" ? "the draft" : `version ${data.version}`;
    const where = data.version === "draft" ? "the draft's test runs" : name;
    totals.textContent = real + test
      ? `${plural(real + test, "order")} on ${where}: ${real} real, ${test} test`
      : `No orders have run on ${where} yet`;
    const extra = [missing.steps && plural(missing.steps, "step"), missing.edges && plural(missing.edges, "edge")]
      .filter(Boolean);
    unmatched.hidden = !extra.length;
    unmatched.textContent = extra.length ? `Not in ${name}, so not counted: ${extra.join(" and ")} of the canvas.` : "";
    limitedNote.hidden = !data.limited;
    neverHead.hidden = false;
    neverList.replaceChildren(...data.never_taken.map((edge) => {
      const item = el("li");
      const link = el("button", "cov-never");
      link.type = "button";
      link.dataset.edge = `${edge.source}>${edge.target}`;
      const path = el("span", "cov-never-path");
      path.append(...stepName(editor, edge.source), " → ", ...stepName(editor, edge.target));
      link.append(path, el("span", `chip chip-muted cov-kind cov-kind-${edge.kind}`, edge.kind));
      link.addEventListener("click", () => editor.reveal({ edge: [edge.source, edge.target] }));
      item.append(link);
      return item;
    }));
    if (!data.never_taken.length) neverList.append(el("li", "muted cov-none", "none: every edge was taken"));
  }

  async function fillVersions(preferred) {
    const result = await api.versions(editor.meta.id);
    const versions = result.ok ? [...result.data.data].map((v) => v.version).sort((a, b) => b - a) : [];
    const draft = el("option", "", "the draft (test runs)");
    draft.value = "draft";
    versionField.replaceChildren(...versions.map((n) => {
      const option = el("option", "", `version ${n}`);
      option.value = String(n);
      return option;
    }), draft);
    const wanted = preferred ?? (versions.length ? String(versions[0]) : "draft");
    versionField.value = [...versionField.options].some((option) => option.value === wanted) ? wanted : "draft";
    return versionField.value;
  }

  async function refresh() {
    const mine = ++seq;
    const viewing = editor.versions.viewing?.version;
    legend.dataset.state = "loading";
    message.textContent = "";
    const version = await fillVersions(chosen ?? (viewing ? String(viewing) : null));
    if (mine !== seq || !on) return;
    const result = await api.coverage(editor.meta.id, version);
    if (mine !== seq || !on) return;
    restore();
    if (!result.ok) {
      legend.dataset.state = "error";
      message.textContent = `Could not count: ${describeFailure(result)}`;
      totals.textContent = "";
      neverHead.hidden = true;
      neverList.replaceChildren();
      answer = null;
      return;
    }
    answer = result.data;
    renderLegend(answer, draw(answer));
    legend.dataset.state = "done";
    legend.dataset.version = String(answer.version);
  }

  function setOn(value) {
    on = value;
    button.setAttribute("aria-pressed", String(on));
    button.title = on ? "Hide coverage" : "Show coverage: how many orders took each step and edge";
    legend.hidden = !on;
    if (on) refresh();
    else { seq += 1; restore(); answer = null; }
  }

  graph.on("cell:change:attrs", noticeChange);
  graph.on("cell:change:labels", noticeChange);
  graph.on("cell:removed", removed);
  graph.on("cell:added", added);
  // another version on the canvas (new cells): count that one (back on the draft: the latest)
  graph.on("blueprint:loaded", () => {
    drawn.clear();
    gone.clear();
    tooled.clear();
    chosen = null;
    if (on) refresh();
  });
  versionField.addEventListener("change", () => { chosen = versionField.value; refresh(); });
  legend.querySelector("[data-close]").addEventListener("click", () => setOn(false));

  return {
    toggle: () => setOn(!on),
    refresh,
    isOn: () => on,
  };
}
