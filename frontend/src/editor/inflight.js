// Publishing with orders in flight: before a publish, the orders still active on published
// versions are counted by version, step and state. None: the draft is published at once.
// Some: a dialog lists them, with whether their step is in the new version unchanged,
// changed or missing, and asks. Once published, the sleeping and waiting orders of each old
// version can be moved to the new one (migrate), and what moved and what was refused (and
// why) is shown. If the count cannot be had (an older server, the network), the draft is
// published as before. Built with textContent only: step labels are user-written.
import { api, describeFailure } from "./api.js";
import { stepName } from "./names.js";
import { el } from "./dom.js";

const RESTING = new Set(["sleeping", "waiting"]);
const PRESENCE_TONE = { unchanged: "chip-good", changed: "chip-warn", missing: "chip-bad" };

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Per old version (oldest first), its groups of sleeping and waiting orders. */
export function resting(groups) {
  const byVersion = new Map();
  for (const group of groups) {
    if (!RESTING.has(group.state)) continue;
    if (!byVersion.has(group.version)) byVersion.set(group.version, []);
    byVersion.get(group.version).push(group);
  }
  return [...byVersion].sort(([a], [b]) => a - b);
}

export function createInFlight(editor, root) {
  const dialog = root.querySelector("#publish-dialog");
  const title = dialog.querySelector("#publish-title");
  const ask = dialog.querySelector("[data-publish-ask]");
  const done = dialog.querySelector("[data-publish-done]");
  const rows = dialog.querySelector("[data-inflight-rows]");
  const note = dialog.querySelector("[data-inflight-note]");
  const confirm = dialog.querySelector("[data-publish-confirm]");
  const offers = dialog.querySelector("[data-move-offers]");
  const published = dialog.querySelector("[data-published-line]");
  let groups = [];

  function row(group) {
    const tr = el("tr");
    tr.dataset.version = String(group.version);
    tr.dataset.node = group.node;
    tr.dataset.state = group.state;
    const step = el("td", "inflight-step");
    step.append(...(group.node ? stepName(editor, group.node) : [el("span", "muted", "not started")]));
    const state = el("td");
    state.append(el("span", `state state-${group.state}`, group.state));
    const presence = el("td");
    presence.append(el("span", `chip ${PRESENCE_TONE[group.in_draft] || "chip-muted"}`, group.in_draft));
    presence.dataset.presence = group.in_draft;
    tr.append(el("td", "inflight-version", `v${group.version}`), step, state, el("td", "num", String(group.count)), presence);
    return tr;
  }

  async function latestVersion() {
    const result = await api.versions(editor.meta.id);
    if (!result.ok) return null;
    return Math.max(0, ...result.data.data.map((version) => version.version));
  }

  function showAsk(data, latest) {
    groups = data.groups;
    const next = latest === null ? "" : ` ${latest + 1}`;
    title.textContent = `Publish version${next}?`;
    const versions = [...new Set(groups.map((group) => group.version))];
    const one = data.total === 1;
    note.textContent = `${plural(data.total, "order")} ${one ? "is" : "are"} still running on `
      + `${versions.map((v) => `v${v}`).join(", ")}. ${one ? "It stays on the version it" : "They stay on the version they"} `
      + `started on unless you move ${one ? "it" : "them"}: publishing changes only what new orders run. Once published, `
      + "the sleeping and waiting ones whose step is still in the new version can be moved to it.";
    rows.replaceChildren(...groups.map(row));
    ask.hidden = false;
    done.hidden = true;
    confirm.disabled = false;
    dialog.showModal();
    confirm.focus();
  }

  function refusals(list) {
    const out = el("ul", "move-refused");
    for (const refused of list) {
      const item = el("li");
      item.append(el("code", "", refused.order_id));
      if (refused.node) item.append(" at ", ...stepName(editor, refused.node));
      item.append(`: ${refused.reason}`);
      out.append(item);
    }
    return out;
  }

  async function move(from, to, button, result, choices) {
    const chosen = choices.filter(({ select }) => select.value);
    const nodeMap = Object.fromEntries(chosen.filter(({ group, select }) => select.value !== group.node)
      .map(({ group, select }) => [group.node, select.value]));
    button.disabled = true;
    button.textContent = "Moving…";
    const answer = await api.migrate(editor.meta.id, {
      from_version: from, to_version: to, node_map: nodeMap, steps: chosen.map(({ group }) => group.node), dry_run: false });
    if (!answer.ok) {
      button.disabled = false;
      button.textContent = "Try again";
      result.className = "move-result form-errors";
      result.textContent = `Could not move the orders of v${from}: ${describeFailure(answer)}`;
      return;
    }
    const { moved, refused } = answer.data.summary;
    button.hidden = true;
    for (const { select } of choices) select.disabled = true;
    result.className = `move-result ${refused ? "is-partial" : "is-done"}`;
    result.replaceChildren(el("strong", "", `v${from} → v${to}: moved ${moved}, refused ${refused}`));
    if (answer.data.refused.length) result.append(refusals(answer.data.refused));
    if (answer.data.limited) result.append(el("p", "muted", "More orders are left: move again."));
  }

  /** A step of the new version for each group of resting orders (same type; the same id
   * unless it is gone), or "stay": a mapping the server checks again before it moves any. */
  function choice(group, from, doc) {
    const select = el("select", "move-to");
    select.setAttribute("aria-label", `Where the orders at ${group.node} go on`);
    const stay = el("option", "", `stay on v${from}`);
    stay.value = "";
    const options = doc.nodes.filter((node) => node.type === group.type).map((node) => {
      const option = el("option", "", node.label && node.label !== node.id ? `${node.label} (${node.id})` : node.id);
      option.value = node.id;
      return option;
    });
    select.append(stay, ...options);
    select.value = options.some((option) => option.value === group.node) ? group.node : "";
    const tr = el("tr");
    tr.dataset.node = group.node;
    const state = el("td");
    state.append(el("span", `state state-${group.state}`, group.state));
    const to = el("td");
    to.append(select);
    tr.append(el("td", "", group.node), state, el("td", "num", String(group.count)), to);
    return { group, select, row: tr };
  }

  function offer(from, groups, to, doc) {
    const box = el("div", "move-offer");
    box.dataset.from = String(from);
    const choices = groups.map((group) => choice(group, from, doc));
    const table = el("table", "table table-compact move-map");
    const head = el("tr");
    for (const name of [`Step in v${from}`, "State", "Orders", `Goes on in v${to} at`]) head.append(el("th", "", name));
    const thead = el("thead");
    thead.append(head);
    const tbody = el("tbody");
    tbody.append(...choices.map(({ row }) => row));
    table.append(thead, tbody);
    const button = el("button", "btn");
    button.type = "button";
    button.dataset.moveFrom = String(from);
    const result = el("div", "move-result");
    result.setAttribute("role", "status");
    const count = () => {
      const n = choices.reduce((sum, { group, select }) => sum + (select.value ? group.count : 0), 0);
      button.textContent = `Move ${plural(n, "order")} of v${from} to v${to}`;
      button.disabled = !n;
    };
    for (const { select } of choices) select.addEventListener("change", count);
    count();
    button.addEventListener("click", () => move(from, to, button, result, choices));
    box.append(table, button, result);
    return box;
  }

  async function publishFromDialog() {
    confirm.disabled = true;
    const version = await editor.publishNow();
    if (version === null) { dialog.close(); return; }
    const candidates = resting(groups).filter(([from]) => from !== version);
    if (!candidates.length) { dialog.close(); return; }
    const doc = editor.toDoc();  // what was just published
    title.textContent = `Version ${version} is published`;
    published.textContent = `Sleeping and waiting orders of older versions can go on in version ${version}, at a `
      + "step of the same kind: the same step by default, where it is still there. Each is checked first: one that could not "
      + "go on there (a value the new version reads that it never saved) stays where it is, and is listed with the reason.";
    offers.replaceChildren(...candidates.map(([from, list]) => offer(from, list, version, doc)));
    ask.hidden = true;
    done.hidden = false;
    done.querySelector("[data-move-from]")?.focus();
  }

  /** Publish the saved draft, asking first when orders are in flight on published versions. */
  let asking = false;
  async function publish() {
    if (asking || dialog.open) return;  // a second press while the count is on its way
    asking = true;
    try {
      const [impact, latest] = await Promise.all([api.inFlight(editor.meta.id), latestVersion()]);
      if (!impact.ok || !impact.data?.total) await editor.publishNow();
      else showAsk(impact.data, latest);
    } finally {
      asking = false;
    }
  }

  confirm.addEventListener("click", publishFromDialog);
  for (const button of dialog.querySelectorAll("[data-close]")) button.addEventListener("click", () => dialog.close());
  return { publish, isOpen: () => dialog.open };
}
