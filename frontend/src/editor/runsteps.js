// One row of the test-run tray per step run: the step (its label, then its id, small), status,
// time, error, saved values, and (unfolded on click) the request and response. Built with
// textContent only: step data is user data and is never parsed as HTML.
import { stepName } from "./names.js";
import { el } from "./dom.js";

export function tone(status) {
  const s = String(status || "");
  if (/fail|error|cancel/.test(s)) return "failed";
  if (/retry/.test(s)) return "retrying";
  if (/complet|succe|done|ok/.test(s)) return "done";
  if (/run|start/.test(s)) return "running";
  return "waiting";
}

function took(step) {
  if (!step.started_at || !step.finished_at) return "";
  const ms = new Date(step.finished_at) - new Date(step.started_at);
  if (!Number.isFinite(ms)) return "";
  return ms < 1000 ? `${Math.max(1, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function json(label, value) {
  const block = el("div", "run-json");
  block.append(el("div", "run-json-label", label), el("pre", "", JSON.stringify(value, null, 2)));
  return block;
}

function errorText(error) {
  if (typeof error === "string") return error;
  return error.message ? `${error.code ? `${error.code}: ` : ""}${error.message}` : JSON.stringify(error);
}

/** The <li> of one step run; `opened` is the set of unfolded row keys, kept across refreshes. */
export function stepRow(step, key, opened, reveal) {
  const item = el("li", `run-step run-${tone(step.status)}`);
  item.dataset.node = step.node;
  item.dataset.status = step.status;
  const head = el("div", "run-step-head");
  const status = `${step.status}${step.attempt > 1 ? ` · attempt ${step.attempt}` : ""}`;
  const name = el("strong", "run-step-name");
  name.append(...stepName(window.waybillEditor, step.node));  // labels as the canvas has them
  head.append(name, el("span", "run-status", status), el("small", "", took(step)));
  item.append(head);
  if (step.error) item.append(el("div", "run-error", errorText(step.error)));
  if (step.saved && Object.keys(step.saved).length) item.append(el("code", "run-saved", JSON.stringify(step.saved)));
  const more = [["Request", step.request], ["Response", step.response]].filter(([, value]) => value);
  if (more.length) {
    const details = el("details", "run-more");
    details.open = opened.has(key);
    details.append(el("summary", "", "Request and response"), ...more.map(([label, value]) => json(label, value)));
    details.addEventListener("toggle", () => (details.open ? opened.add(key) : opened.delete(key)));
    item.append(details);
  }
  head.addEventListener("click", () => reveal(step.node));
  return item;
}
