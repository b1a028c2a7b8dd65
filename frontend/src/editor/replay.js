// The replay tray: past orders' recorded inputs run through the draft (saved first) or a
// published version, in a worker, calling nothing. Its summary, the changed orders (each at
// its first differing step; a click selects that step) and, on the canvas, the steps where
// orders now differ (an amber outline and a count) or met a call they never made (dashed).
// Closing the tray clears the canvas. Built with textContent only: results hold user data.
import { api, describeFailure } from "./api.js";
import { stepName } from "./names.js";
import { el } from "./dom.js";

const CHANGED = "wb-replay-changed";
const UNRECORDED = "wb-replay-unrecorded";
const LISTED = 8;  // changed orders shown; the replay page has them all
const AMBER = "#d97706";
const BADGE_CLEAR = { badge: { display: "none" }, badgeDot: { fill: "#dc2626" }, badgeText: { fontSize: 10 } };

const seconds = (ms) => (ms < 1000 ? `${Math.max(1, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`);

export function createReplay(editor, root) {
  const tray = root.querySelector("#replay-tray");
  const form = tray.querySelector("form");
  const versionField = form.elements.version;
  const message = tray.querySelector("[data-replay-error]");
  const summary = tray.querySelector("[data-replay-summary]");
  const changes = tray.querySelector("[data-replay-changes]");
  const pageLink = tray.querySelector("[data-replay-link]");
  const runTray = root.querySelector("#run-tray");
  const toolbarButton = root.querySelector(".editor-toolbar [data-action=replay]");
  let answer = null;  // the last replay's answer, drawn on the canvas while the tray is open
  let lit = [];
  let busy = false;

  // ---- the canvas --------------------------------------------------------------------------
  function clearMarks() {
    const had = lit.length;
    for (const cell of lit) {
      if (!editor.graph.hasCell(cell)) continue;
      editor.graph.findViewByCell(cell)?.container.classList.remove(CHANGED, UNRECORDED);
      cell.setAttrs(BADGE_CLEAR);
    }
    lit = [];
    if (had) editor.problems.show(editor.problems.all);  // a problem's badge shows again
  }

  function mark() {
    for (const cell of lit) editor.graph.findViewByCell(cell)?.container.classList.remove(CHANGED, UNRECORDED);
    lit = [];
    if (!answer || tray.hidden) return;
    for (const [id, counts] of Object.entries(answer.nodes || {})) {
      const cell = editor.findNode(id);
      const box = cell && editor.graph.findViewByCell(cell)?.container;
      if (!box) continue;
      box.classList.toggle(CHANGED, counts.changed > 0);
      box.classList.toggle(UNRECORDED, counts.unrecorded > 0);
      if (counts.changed > 0) {
        const text = counts.changed > 99 ? "99+" : String(counts.changed);
        cell.setAttrs({ badge: { display: "block" }, badgeDot: { fill: AMBER },
          badgeText: { text, fontSize: text.length > 2 ? 8 : 10 } });
      }
      lit.push(cell);
    }
  }

  // ---- the tray ----------------------------------------------------------------------------
  async function loadVersions() {
    const viewing = editor.versions.viewing?.version;
    const chosen = viewing ? String(viewing) : versionField.value || "draft";
    const result = await api.versions(editor.meta.id);
    const versions = result.ok ? [...result.data.data].sort((a, b) => b.version - a.version) : [];
    const draft = el("option", "", "the draft");
    draft.value = "draft";
    versionField.replaceChildren(draft, ...versions.map((version) => {
      const option = el("option", "", `version ${version.version}`);
      option.value = String(version.version);
      return option;
    }));
    versionField.value = [...versionField.options].some((option) => option.value === chosen) ? chosen : "draft";
  }

  function open() {
    if (!runTray.hidden) editor.testRun.close();  // one tray under the canvas at a time
    if (tray.hidden) {
      tray.hidden = false;
      editor.refit();
    }
    toolbarButton.setAttribute("aria-expanded", "true");
    loadVersions();
    mark();
    form.elements.limit.focus();
  }

  function close() {
    clearMarks();
    toolbarButton.setAttribute("aria-expanded", "false");
    if (!tray.hidden) {
      tray.hidden = true;
      editor.refit();
    }
  }

  function showChanged(orders) {
    const changed = orders.filter((order) => order.changed);
    changes.replaceChildren(...changed.slice(0, LISTED).map((order) => {
      const item = el("li", "rp-change");
      const button = el("button", "rp-change-btn");
      button.type = "button";
      const node = order.first_difference?.node;
      button.dataset.node = node || "";
      const where = el("span", "rp-change-where");
      if (node) where.append("at ", ...stepName(editor, node), ": ", order.first_difference.said);  // the server's words
      else where.textContent = `${order.before.state} → ${order.after.state}`;
      button.append(el("code", "rp-order", order.order_id), where);
      if (node) button.addEventListener("click", () => editor.reveal({ node }));
      item.append(button);
      return item;
    }));
    if (changed.length > LISTED) changes.append(el("li", "rp-more muted", `and ${changed.length - LISTED} more`));
    changes.hidden = !changed.length;
  }

  function showSummary(data) {
    const { total, same, changed, unrecorded, skipped } = data.summary;
    const part = (text, tone, name) => {
      const chip = el("span", `chip ${tone}`, text);
      chip.dataset.count = name;
      return chip;
    };
    const parts = [part(`${same} same`, "chip-good", "same"), part(`${changed} changed`, changed ? "chip-warn" : "chip-muted", "changed"),
      part(`${unrecorded} unrecorded`, unrecorded ? "chip-info" : "chip-muted", "unrecorded")];
    if (skipped) {
      parts.push(part(`${skipped} skipped`, "chip-bad", "skipped"));
      parts.at(-1).title = "Left out: the replay's time budget ran out";
    }
    const on = data.version === "draft" ? "the draft" : `version ${data.version}`;
    const line = el("span", "rp-total muted", total
      ? `${total} order${total === 1 ? "" : "s"} on ${on} in ${seconds(data.elapsed_ms)}`
      : "No past orders to replay yet: run some orders first");
    summary.replaceChildren(...parts.flatMap((chip, i) => (i ? [el("span", "rp-dot", "·"), chip] : [chip])), line);
    summary.hidden = false;
  }

  function linkTo(version, limit) {
    const query = new URLSearchParams({ version: String(version), limit: String(limit) });
    pageLink.href = `/blueprints/${encodeURIComponent(editor.meta.id)}/replay?${query}`;
  }

  async function run(event) {
    event.preventDefault();
    if (busy) return;
    const limit = Number(form.elements.limit.value);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      message.textContent = "Replay between 1 and 500 orders.";
      form.elements.limit.setAttribute("aria-invalid", "true");
      return;
    }
    form.elements.limit.removeAttribute("aria-invalid");
    const version = versionField.value === "draft" ? "draft" : Number(versionField.value);
    message.textContent = "";
    if (version === "draft" && !editor.readOnly && editor.isDirty() && !(await editor.save())) {
      message.textContent = "The draft could not be saved, so it was not replayed.";
      return;
    }
    busy = true;
    tray.dataset.state = "running";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = "Replaying…";
    const result = await api.replay(editor.meta.id, { version, filter: {}, limit });
    busy = false;
    button.disabled = false;
    button.textContent = "Replay";
    linkTo(version, limit);
    if (!result.ok) {
      tray.dataset.state = "error";
      const why = describeFailure(result);
      message.textContent = result.status === 503 ? `No worker took the replay: ${why}` : `Could not replay: ${why}`;
      return;
    }
    tray.dataset.state = "done";
    answer = result.data;
    clearMarks();
    mark();
    showSummary(answer);
    showChanged(answer.orders);
  }

  form.addEventListener("submit", run);
  form.addEventListener("change", () => {  // the page's link follows the choice
    const limit = Number(form.elements.limit.value);
    if (Number.isInteger(limit) && limit >= 1 && limit <= 500) linkTo(versionField.value, limit);
  });
  tray.querySelector("[data-close]").addEventListener("click", close);
  // a problem pin reset the badge (validation after an edit), a load drew new cells: again
  editor.graph.on("problems:shown", () => { if (lit.length) mark(); });
  editor.graph.on("blueprint:loaded", () => { lit = []; mark(); });
  // a step deleted while marked and brought back by an undo carries the mark in its attrs
  editor.graph.on("node:added", ({ node }) => {
    if (node.getAttrs()?.badgeDot?.fill !== AMBER) return;
    node.setAttrs(BADGE_CLEAR);
    if (answer && !tray.hidden) mark();
  });
  // a test run docks its tray where this one is: this one steps aside
  new MutationObserver(() => { if (!runTray.hidden && !tray.hidden) close(); })
    .observe(runTray, { attributes: true, attributeFilter: ["hidden"] });

  linkTo("draft", 100);
  const toggle = () => (tray.hidden ? open() : close());
  return { open, close, toggle, isOpen: () => !tray.hidden };
}
