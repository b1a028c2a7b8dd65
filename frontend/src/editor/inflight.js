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

/** Per old version, how many of its orders rest on a step the new version still has. */
export function movable(groups) {
  const counts = new Map();
  for (const group of groups) {
    if (!RESTING.has(group.state) || group.in_draft === "missing") continue;
    counts.set(group.version, (counts.get(group.version) || 0) + group.count);
  }
  return [...counts].sort(([a], [b]) => a - b);
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

  async function move(from, to, button, result) {
    button.disabled = true;
    button.textContent = "Moving…";
    const answer = await api.migrate(editor.meta.id, { from_version: from, to_version: to, node_map: {}, dry_run: false });
    if (!answer.ok) {
      button.disabled = false;
      button.textContent = "Try again";
      result.className = "move-result form-errors";
      result.textContent = `Could not move the orders of v${from}: ${describeFailure(answer)}`;
      return;
    }
    const { moved, refused } = answer.data.summary;
    button.hidden = true;
    result.className = `move-result ${refused ? "is-partial" : "is-done"}`;
    result.replaceChildren(el("strong", "", `v${from} → v${to}: moved ${moved}, refused ${refused}`));
    if (answer.data.refused.length) result.append(refusals(answer.data.refused));
    if (answer.data.limited) result.append(el("p", "muted", "More orders are left: move again."));
  }

  function offer(from, count, to) {
    const box = el("div", "move-offer");
    box.dataset.from = String(from);
    const button = el("button", "btn", `Move the ${plural(count, "sleeping and waiting order", "sleeping and waiting orders")} of v${from} to v${to}`);
    button.type = "button";
    button.dataset.moveFrom = String(from);
    const result = el("div", "move-result");
    result.setAttribute("role", "status");
    button.addEventListener("click", () => move(from, to, button, result));
    box.append(button, result);
    return box;
  }

  async function publishFromDialog() {
    confirm.disabled = true;
    const version = await editor.publishNow();
    if (version === null) { dialog.close(); return; }
    const candidates = movable(groups).filter(([from]) => from !== version);
    if (!candidates.length) { dialog.close(); return; }
    title.textContent = `Version ${version} is published`;
    published.textContent = `Orders resting on older versions can move to version ${version}. Each is checked `
      + "first: one that could not go on there (a value the new version reads that it never saved, another kind "
      + "of step) stays where it is, and is listed with the reason.";
    offers.replaceChildren(...candidates.map(([from, count]) => offer(from, count, version)));
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
