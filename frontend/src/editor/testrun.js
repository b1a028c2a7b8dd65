// Test runs: start an order on the saved draft, then light up the nodes as its steps run and
// fill the run tray's timeline. Any SSE event from the order triggers a refetch of the order,
// and a slow poll covers a dropped stream, so the view never depends on an event's exact shape.
import { api, describeFailure } from "./api.js";
import { toast } from "./toast.js";

const EVENTS = ["snapshot", "step_started", "step_finished", "order_state", "message"];
const FINAL = new Set(["completed", "failed", "cancelled"]);
const LOOK = {
  running: "#2563eb", done: "#16a34a", failed: "#dc2626", retrying: "#d97706", waiting: "#0891b2",
};

function tone(status) {
  const s = String(status || "");
  if (/fail|error|cancel/.test(s)) return "failed";
  if (/retry/.test(s)) return "retrying";
  if (/complet|succe|done|ok/.test(s)) return "done";
  if (/run|start/.test(s)) return "running";
  return "waiting";
}

function seconds(step) {
  if (!step.started_at || !step.finished_at) return "";
  const ms = new Date(step.finished_at) - new Date(step.started_at);
  if (!Number.isFinite(ms)) return "";
  return ms < 1000 ? `${Math.max(1, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function createTestRun(editor, root) {
  const dialog = root.querySelector("#testrun-dialog");
  const tray = root.querySelector("#run-tray");
  const list = tray.querySelector("[data-run-steps]");
  const state = tray.querySelector("[data-run-state]");
  let source = null;
  let poll = null;
  let lit = [];

  function open() {
    if (editor.readOnly) return;
    const input = dialog.querySelector("[name=input]");
    if (!input.value.trim()) input.value = JSON.stringify(editor.meta.sample_input || {}, null, 2);
    dialog.querySelector("[data-run-error]").textContent = "";
    dialog.showModal();
  }

  function clearLights() {
    for (const cell of lit) if (editor.graph.hasCell(cell)) cell.setAttrs({ ring: { stroke: "none", strokeDasharray: null } });
    lit = [];
  }

  function light(steps) {
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
  }

  function row(step) {
    const item = document.createElement("li");
    item.className = `run-step run-${tone(step.status)}`;
    const head = document.createElement("div");
    head.className = "run-step-head";
    const node = document.createElement("strong");
    node.textContent = step.node;
    const status = document.createElement("span");
    status.className = "run-status";
    status.textContent = `${step.status}${step.attempt > 1 ? ` · attempt ${step.attempt}` : ""}`;
    const time = document.createElement("small");
    time.textContent = seconds(step);
    head.append(node, status, time);
    item.append(head);
    if (step.error) {
      const error = document.createElement("div");
      error.className = "run-error";
      error.textContent = typeof step.error === "string" ? step.error : step.error.message || JSON.stringify(step.error);
      item.append(error);
    }
    if (step.saved && Object.keys(step.saved).length) {
      const saved = document.createElement("code");
      saved.className = "run-saved";
      saved.textContent = JSON.stringify(step.saved);
      item.append(saved);
    }
    item.addEventListener("click", () => editor.reveal({ node: step.node }));
    return item;
  }

  function stop() {
    source?.close();
    source = null;
    clearInterval(poll);
    poll = null;
  }

  async function refresh(orderId) {
    const result = await api.order(orderId);
    if (!result.ok) return;
    const order = result.data;
    const steps = order.steps || [];
    light(steps);
    list.replaceChildren(...steps.map(row));
    state.textContent = order.state;
    state.dataset.tone = tone(order.state);
    tray.querySelector("[data-run-link]").href = `/orders/${encodeURIComponent(order.order_id)}`;
    if (FINAL.has(order.state)) stop();
  }

  function follow(orderId) {
    stop();
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
    if (editor.isDirty() && !(await editor.save())) return;
    const mock = dialog.querySelector("[name=mock]").checked;
    const result = await api.testRun(editor.meta.id, { input, mock });
    if (!result.ok) {
      message.textContent = describeFailure(result);
      if (Array.isArray(result.data?.errors) && result.data.errors.length) editor.problems.show(result.data.errors);
      return;
    }
    dialog.close();
    tray.hidden = false;
    list.replaceChildren();
    tray.querySelector("[data-run-id]").textContent = result.data.order_id;
    toast("Test run started", "ok", 1500);
    follow(result.data.order_id);
  }

  dialog.querySelector("form").addEventListener("submit", start);
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  tray.querySelector("[data-close]").addEventListener("click", () => { stop(); clearLights(); tray.hidden = true; });
  return { open, stop };
}
