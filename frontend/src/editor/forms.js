// Reading the config panel's forms back into blueprint objects. The forms are server-rendered
// partials (blueprints/_node_config.html and friends); their field names are the contract.

const SCALARS = ["label", "api_call", "function", "expression", "duration", "until", "signal", "timeout", "result", "status", "items", "blueprint"];
const MAPS = ["args", "save", "input"];
const RETRY = ["max_attempts", "initial_s", "backoff", "max_s"];
export const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

function has(form, name) {
  return form.elements.namedItem(name) !== null;
}

function readPairs(form, field) {
  const data = new FormData(form);
  const keys = data.getAll(`${field}.key`);
  const values = data.getAll(`${field}.value`);
  const out = {};
  keys.forEach((key, i) => {
    const name = String(key).trim();
    const value = String(values[i] ?? "").trim();
    if (name && value) out[name] = value;
  });
  return out;
}

function readRetry(form) {
  const enabled = form.elements.namedItem("retry.enabled");
  if (!enabled?.checked) return undefined;
  if (!form.elements.namedItem("retry.max_attempts")) return JSON.parse(enabled.dataset.defaults || "{}");
  const retry = {};
  for (const key of RETRY) {
    const raw = form.elements.namedItem(`retry.${key}`)?.value;
    if (raw !== undefined && raw !== "") retry[key] = Number(raw);
  }
  return retry;
}

// `3` is a count, `10%` a share: the format takes a number or such a string.
function countOrShare(raw) {
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

function setOrDrop(target, key, value) {
  if (value === undefined || value === "" || (typeof value === "object" && !Object.keys(value).length)) {
    delete target[key];
  } else {
    target[key] = value;
  }
}

/** The node as the form now describes it; fields the form does not show are kept. */
export function readNodeForm(form, node) {
  const next = { ...node };
  const data = new FormData(form);
  for (const key of SCALARS) {
    if (has(form, key)) setOrDrop(next, key, String(data.get(key) ?? "").trim());
  }
  for (const field of MAPS) {
    if (form.querySelector(`[data-pairs="${field}"]`)) setOrDrop(next, field, readPairs(form, field));
  }
  if (has(form, "concurrency")) {
    const raw = String(data.get("concurrency") ?? "").trim();
    setOrDrop(next, "concurrency", raw ? Number(raw) : undefined);
  }
  if (has(form, "tolerated_failures")) {
    setOrDrop(next, "tolerated_failures", countOrShare(String(data.get("tolerated_failures") ?? "").trim()));
  }
  if (has(form, "retry.enabled")) setOrDrop(next, "retry", readRetry(form));
  // a toggle between alternative fields (a sleep's duration or until): only the chosen one is kept
  for (const toggle of form.querySelectorAll("[data-alternatives]")) {
    const chosen = toggle.querySelector("input[type=radio]:checked")?.value;
    if (!chosen) continue;
    for (const radio of toggle.querySelectorAll("input[type=radio]")) {
      if (radio.value !== chosen) delete next[radio.value];
    }
  }
  return next;
}

export function readEdgeForm(form) {
  const data = new FormData(form);
  return { kind: String(data.get("kind") || "next"), label: String(data.get("label") || "").trim() };
}

function readJson(form, name, problems) {
  const raw = String(new FormData(form).get(name) ?? "").trim();
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems[name] = "Must be a JSON object";
      return undefined;
    }
    return value;
  } catch (error) {
    problems[name] = `Not valid JSON: ${error.message}`;
    return undefined;
  }
}

/** The blueprint's own settings; `problems` names fields that could not be read. */
export function readBlueprintForm(form, meta) {
  const data = new FormData(form);
  const problems = {};
  const next = { ...meta };
  next.name = String(data.get("name") ?? "").trim() || meta.name;
  setOrDrop(next, "description", String(data.get("description") ?? "").trim());
  setOrDrop(next, "dispatch", String(data.get("dispatch") ?? ""));
  for (const key of ["input_schema", "sample_input"]) {
    const value = readJson(form, key, problems);
    if (problems[key]) continue;
    setOrDrop(next, key, value);
    if (key === "sample_input" && value && !Object.keys(value).length) next.sample_input = value;
  }
  const webhook = {};
  setOrDrop(webhook, "order_id_field", String(data.get("webhook.order_id_field") ?? "").trim());
  setOrDrop(webhook, "credential", String(data.get("webhook.credential") ?? "").trim());
  setOrDrop(next, "webhook", webhook);
  const key = String(data.get("concurrency.key") ?? "").trim();
  const limitText = String(data.get("concurrency.limit") ?? "").trim();
  const limit = limitText ? Number(limitText) : 1;
  if (!Number.isInteger(limit) || limit < 1) problems["concurrency.limit"] = "A whole number, 1 or more";
  if (key && !problems["concurrency.limit"]) next.concurrency = { key, limit };
  else if (!key) delete next.concurrency;
  return { meta: next, problems };
}
