// Test runs: start an order on the saved draft, then light up the nodes as its steps run and
// fill the run tray's timeline. Any SSE event from the order triggers a refetch of the order,
// and a slow poll covers a dropped stream, so the view never depends on an event's exact shape.
// Once the order is final, the steps it did not take are greyed out as skipped; while it waits
// for a signal, the tray can send one. Clicking a step on the canvas while the tray is open
// unfolds that step's latest run in the tray: its request, response and saved values.
import { api, describeFailure } from "./api.js";
import { nodeOf } from "./convert.js";
import { stepName } from "./names.js";
import { stepRow, tone } from "./runsteps.js";
import { toast } from "./toast.js";

const EVENTS = ["snapshot", "step_started", "step_finished", "order_state", "message"];
const FINAL = new Set(["completed", "failed", "cancelled"]);
const LOOK = {
  running: "#2563eb", done: "#16a34a", failed: "#dc2626", retrying: "#d97706", waiting: "#0891b2",
};
const SKIPPED_CLASS = "wb-skipped";

export function createTestRun(editor, root) {
  const dialog = root.querySelector("#testrun-dialog");
  const tray = root.querySelector("#run-tray");
  const list = tray.querySelector("[data-run-steps]");
  const state = tray.querySelector("[data-run-state]");
  const skippedLine = tray.querySelector("[data-run-skipped]");
  const signalForm = tray.querySelector("[data-run-signal]");
  const cancelButton = tray.querySelector("[data-run-cancel]");
  let source = null;
  let poll = null;
  let lit = [];
  let current = null;
  let opened = new Set();
  let focused = null;

  function open() {
    if (editor.readOnly) return;
    const input = dialog.querySelector("[name=input]");
    if (!input.value.trim()) input.value = JSON.stringify(editor.meta.sample_input || {}, null, 2);
    dialog.querySelector("[data-run-error]").textContent = "";
    dialog.showModal();
  }

  function clearLights() {
    for (const cell of lit) {
      if (!editor.graph.hasCell(cell)) continue;
      cell.setAttrs({ ring: { stroke: "none", strokeDasharray: null } });
      editor.graph.findViewByCell(cell)?.container.classList.remove(SKIPPED_CLASS);
    }
    lit = [];
  }

  /** Each live branch of a parallel, as a step-like { node, status }. */
  function lanes(order) {
    return Object.values(order.branches || {})
      .filter((lane) => lane.state !== "forked" && lane.state !== "arrived")
      .map((lane) => ({ node: lane.node, status: lane.state }));
  }

  function light(steps, final) {
    clearLights();
    const last = new Map();
    for (const step of steps) last.set(step.node, step);
    for (const [id, step] of last) {
      const cell = editor.findNode(id);
      if (!cell) continue;
      const look = tone(step.status);
      cell.setAttrs({ ring: { stroke: LOOK[look], strokeDasharray: look === "running" ? "6 4" : null } });
      lit.push(cell);
    }
    const skipped = final ? editor.graph.getNodes().filter((cell) => !last.has(nodeOf(cell).id)) : [];
    for (const cell of skipped) {
      editor.graph.findViewByCell(cell)?.container.classList.add(SKIPPED_CLASS);
      lit.push(cell);
    }
    return skipped.map((cell) => nodeOf(cell).id);
  }

  function showSkipped(ids) {
    skippedLine.hidden = !ids.length;
    skippedLine.replaceChildren(`Skipped (not on the path taken): `, ...ids.flatMap((id, i) => {
      const name = document.createElement("span");
      name.className = "step-named";
      name.append(...stepName(editor, id));
      name.addEventListener("click", () => editor.reveal({ node: id }));
      return i ? [", ", name] : [name];
    }));
  }

  function showSignal(order) {
    // waiting for a signal (on the main path or in a branch), not for child orders
    const at = [order.current_node, ...lanes(order).filter((lane) => lane.status === "waiting").map((lane) => lane.node)];
    const node = order.state === "waiting"
      ? at.map((id) => editor.findNode(id)).find((cell) => cell?.getData()?.node?.signal) : null;
    const waiting = Boolean(node);
    const name = node?.getData()?.node?.signal || "";
    if (waiting && signalForm.hidden) {
      signalForm.elements.name.value = name;
      signalForm.querySelector("[data-signal-name]").textContent = name || "a signal";
      signalForm.querySelector("[data-signal-error]").textContent = "";
    }
    signalForm.hidden = !waiting;
  }

  /** A for_each/sub_blueprint's children, on its latest row: "12 of 50 done · 5 running". */
  function showChildren(order) {
    for (const [nodeId, counts] of Object.entries(order.children || {})) {
      const rows = list.querySelectorAll(`.run-step[data-node="${CSS.escape(nodeId)}"]`);
      const row = rows[rows.length - 1];
      if (!row) continue;
      const done = counts.completed + counts.failed + counts.cancelled;
      const parts = [`${done} of ${counts.total} children done`];
      if (counts.active) parts.push(`${counts.active} running`);
      if (counts.failed) parts.push(`${counts.failed} failed`);
      const line = document.createElement("a");
      line.className = "run-children";
      line.dataset.children = nodeId;
      line.href = `/orders?parent=${encodeURIComponent(order.order_id)}`;
      line.target = "_blank";
      line.textContent = parts.join(" · ");
      row.querySelector(".run-step-head").after(line);
    }
  }

  /** Mark and unfold the node's latest row; false when the run has no step of that node. */
  function focusStep(nodeId, scroll) {
    focused = nodeId;
    for (const row of list.querySelectorAll(".run-step.is-focused")) row.classList.remove("is-focused");
    const rows = list.querySelectorAll(`.run-step[data-node="${CSS.escape(nodeId)}"]`);
    const row = rows[rows.length - 1];
    if (!row) return false;
    row.classList.add("is-focused");
    const details = row.querySelector(".run-more");
    if (details) details.open = true;
    if (scroll) row.scrollIntoView({ block: "nearest" });
    return true;
  }

  function clickedNode({ node }) {
    if (!current || tray.hidden) return;
    const id = nodeOf(node).id;
    if (!focusStep(id, true)) toast(`“${id}” did not run in this test run`, "warn", 1800);
  }

  function stop() {
    source?.close();
    source = null;
    clearInterval(poll);
    poll = null;
  }

  async function refresh(orderId) {
    const result = await api.order(orderId);
    if (!result.ok || orderId !== current) return;
    const order = result.data;
    editor.panel.showRun(order);  // sets editor.lastRun; the panel shows its saved values
    const steps = order.steps || [];
    const final = FINAL.has(order.state);
    showSkipped(light(final ? steps : [...steps, ...lanes(order)], final));
    list.replaceChildren(...steps.map((step, index) => stepRow(step, index, opened, (node) => editor.reveal({ node }))));
    showChildren(order);
    if (focused) focusStep(focused, false);
    state.textContent = order.state;
    state.dataset.tone = tone(order.state);
    tray.dataset.state = order.state;
    tray.querySelector("[data-run-link]").href = `/orders/${encodeURIComponent(order.order_id)}`;
    cancelButton.hidden = final;
    showSignal(order);
    if (final) stop();
  }

  function follow(orderId) {
    stop();
    current = orderId;
    opened = new Set();
    focused = null;
    source = new EventSource(`/api/orders/${encodeURIComponent(orderId)}/events`);
    for (const name of EVENTS) source.addEventListener(name, () => refresh(orderId));
    poll = setInterval(() => refresh(orderId), 1500);
    refresh(orderId);
  }

  async function start(event) {
    event.preventDefault();
    const message = dialog.querySelector("[data-run-error]");
    let input;
    try {
      input = JSON.parse(dialog.querySelector("[name=input]").value || "{}");
    } catch (error) {
      message.textContent = `The input is not valid JSON: ${error.message}`;
      return;
    }
    // not saved (a field that cannot be read, a refused draft): the dialog steps aside so that
    // the error, at the field and in the toast, is seen; the input typed here stays
    if (editor.isDirty() && !(await editor.save())) { dialog.close(); return; }
    const mock = dialog.querySelector("[name=mock]").checked;
    const result = await api.testRun(editor.meta.id, { input, mock });
    if (!result.ok) {
      message.textContent = describeFailure(result);
      if (Array.isArray(result.data?.errors) && result.data.errors.length) editor.problems.show(result.data.errors);
      return;
    }
    dialog.close();
    if (tray.hidden) {  // docked under the canvas: the canvas fits the blueprint into what is left
      tray.hidden = false;
      editor.refit();
    }
    list.replaceChildren();
    signalForm.hidden = true;
    skippedLine.hidden = true;
    tray.querySelector("[data-run-id]").textContent = result.data.order_id;
    toast("Test run started", "ok", 1500);
    follow(result.data.order_id);
  }

  async function sendSignal(event) {
    event.preventDefault();
    const error = signalForm.querySelector("[data-signal-error]");
    const name = signalForm.elements.name.value.trim();
    let payload = null;
    try {
      const text = signalForm.elements.payload.value.trim();
      payload = text ? JSON.parse(text) : null;
    } catch (problem) {
      error.textContent = `The payload is not valid JSON: ${problem.message}`;
      return;
    }
    const result = await api.signal(current, name, payload);
    if (!result.ok) { error.textContent = describeFailure(result); return; }
    error.textContent = "";
    signalForm.hidden = true;
    toast(`Signal “${name}” sent`, "ok", 1500);
    refresh(current);
  }

  async function cancel() {
    const result = await api.cancel(current);
    if (!result.ok) toast(`Could not cancel: ${describeFailure(result)}`, "error", 5000);
    refresh(current);
  }

  dialog.querySelector("form").addEventListener("submit", start);
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  signalForm.addEventListener("submit", sendSignal);
  cancelButton.addEventListener("click", cancel);
  editor.graph.on("node:click", clickedNode);
  function close() {
    stop();
    clearLights();
    current = null;
    if (!tray.hidden) {
      tray.hidden = true;
      editor.refit();
    }
  }
  tray.querySelector("[data-close]").addEventListener("click", close);
  return { open, stop, close, isOpen: () => !tray.hidden };
}
