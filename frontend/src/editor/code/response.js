// Mapping by clicking the data: an API call step's panel shows its response's shape (the
// `response.body.*` names of the save field's scope, with the samples the server found in the
// last recorded response or the call's mock) as a small tree; clicking a field keeps it
// (`carrier ← response.body.carrier`). And "was:" values: after a test run, each save row
// shows what the run saved there. Built with textContent only: samples are user data.

const BODY = "response.body.";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shown(value, limit = 48) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** The body's fields as a tree: [{key, path, type, sample, children}] in the server's order. */
export function bodyTree(names) {
  const top = [];
  const byPath = new Map();
  for (const name of names) {
    if (name.kind !== "response" || !name.path.startsWith(BODY)) continue;
    const cut = name.path.lastIndexOf(".");
    const entry = { key: name.path.slice(cut + 1), path: name.path, type: name.type, sample: name.sample, children: [] };
    byPath.set(name.path, entry);
    (byPath.get(name.path.slice(0, cut))?.children || top).push(entry);
  }
  return top;
}

function row(entry) {
  const item = el("li");
  const button = el("button", "rt-field");
  button.type = "button";
  button.dataset.keep = entry.path;
  button.title = `Keep ${entry.path}`;
  button.append(el("span", "rt-key", entry.key));
  if (entry.children.length) button.append(el("span", "rt-type", entry.type || "object"));
  else if (entry.sample !== null && entry.sample !== undefined) button.append(el("span", "rt-sample", shown(entry.sample)));
  else if (entry.type) button.append(el("span", "rt-type", entry.type));
  item.append(button);
  if (entry.children.length) item.append(list(entry.children));
  return item;
}

function list(entries) {
  const items = el("ul", "rt-list");
  items.append(...entries.map(row));
  return items;
}

/** Fill the panel's response tree (or say there is nothing to show yet). */
export function showResponseTree(holder, names) {
  const tree = bodyTree(names || []);
  const body = holder.querySelector("[data-tree]");
  if (!tree.length) {
    body.replaceChildren(el("p", "panel-note", "No response seen yet: give the API call a mock "
      + "response, or run a test, to pick fields from it here."));
  } else {
    body.replaceChildren(list(tree));
  }
  holder.hidden = false;
}

/** A variable name for `path` (its last segment), unused among `taken`. */
export function keepName(path, taken) {
  const base = path.split(".").pop();
  let name = base;
  for (let n = 2; taken.has(name); n += 1) name = `${base}_${n}`;
  return name;
}

/** What the run's latest step of `nodeId` saved ({} if it saved nothing or did not run). */
export function savedBy(order, nodeId) {
  const steps = (order?.steps || []).filter((step) => step.node === nodeId && step.saved);
  return steps.length ? steps[steps.length - 1].saved : {};
}

/** "was: …" beside every save row whose variable the run saved; cleared where it did not. */
export function showWas(form, order, nodeId) {
  const saved = savedBy(order, nodeId);
  for (const pair of form.querySelectorAll("[data-pairs=save] .pair")) {
    const key = pair.querySelector(".pair-key")?.value.trim();
    let was = pair.querySelector(".pair-was");
    if (!key || !Object.prototype.hasOwnProperty.call(saved, key)) { was?.remove(); continue; }
    if (!was) {
      was = el("span", "pair-was");
      pair.querySelector("[data-remove-pair]").after(was);
    }
    const full = JSON.stringify(saved[key]);
    was.textContent = `was: ${shown(saved[key], 60)}`;
    was.title = `Saved by test run ${order.order_id}: ${full}`;
  }
}
