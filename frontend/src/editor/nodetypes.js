// What each node type looks like and which ports it has. Shared by the palette and the canvas.

// The node types and edge kinds come from the server's catalogue (GET /api/node-types, also
// embedded in the page): titles, colours, which edge kinds leave each type, whether edges may
// lead into it. Only how an icon is drawn lives here, by the name the catalogue gives.

const ICONS = {
  play: "M5 3.5v9l7.5-4.5z",
  arrow: "M2.5 8h10M9 4.5 12.5 8 9 11.5",
  braces: "M6 2.5C4.5 2.5 4.5 4 4.5 5v1c0 1-.8 2-2 2 1.2 0 2 1 2 2v1c0 1 0 2.5 1.5 2.5M10 2.5c1.5 0 1.5 1.5 1.5 2.5v1c0 1 .8 2 2 2-1.2 0-2 1-2 2v1c0 1 0 2.5-1.5 2.5",
  diamond: "M8 2 14 8 8 14 2 8z",
  clock: "M8 2.2a5.8 5.8 0 1 0 0 11.6A5.8 5.8 0 1 0 8 2.2zM8 5v3.2l2.2 1.6",
  flag: "M4 14V2.5M4 3h8l-2 3 2 3H4",
  square: "M4.5 4.5h7v7h-7z",
  stack: "M2.5 7h8v6h-8zM4.5 7V5h8v6h-2M6.5 5V3h7v6h-1",
  nest: "M2.5 2.5h11v11h-11zM7 7h4.5v4.5H7z",
  fork: "M2 8h3.5M5.5 8c2.5 0 3-4 5.5-4H14M5.5 8c2.5 0 3 4 5.5 4H14M12 2.5 14 4l-2 1.5M12 10.5 14 12l-2 1.5",
  merge: "M2 4h2.5c2.5 0 3 4 5.5 4M2 12h2.5c2.5 0 3-4 5.5-4H14M12 6.5 14 8l-2 1.5",
};
// Icons of steps that only route (a fork, a meeting point): drawn as a pill, not a card.
const GATE_ICONS = new Set(["fork", "merge"]);
const UNKNOWN = { title: "?", color: "#64748b", hint: "", accepts_in: true, out: ["next"], required_out: [], icon: "M4 4h8v8H4z", ports: ["in", "out"] };

let types = {};
let order = [];
let edgeKinds = {};
let fanOutKinds = new Set();

/** Take the server's catalogue; every function below reads from it. */
export function setCatalogue(catalogue) {
  types = Object.fromEntries(catalogue.node_types.map((spec) => [spec.type, withPorts(spec)]));
  order = catalogue.node_types.map((spec) => spec.type);
  edgeKinds = Object.fromEntries(catalogue.edge_kinds.map((spec) => [spec.kind, spec]));
  fanOutKinds = new Set(catalogue.node_types.map((spec) => spec.fan_out).filter(Boolean));
}

// A type whose edges choose between kinds (a condition's true and false) has one labelled port
// per kind, so that no edge needs a chooser; others have one "out" port for all their kinds.
function withPorts(spec) {
  const ports = [];
  if (spec.accepts_in) ports.push("in");
  const branches = spec.out.filter((kind) => kind !== "failed");
  if (branches.length > 1 && !spec.fan_out) ports.push(...branches);
  else if (branches.length) ports.push("out");
  if (spec.out.includes("failed")) ports.push("failed");
  return { ...spec, icon: ICONS[spec.icon] || UNKNOWN.icon, gate: GATE_ICONS.has(spec.icon), ports };
}

/** The port an edge of this kind leaves from. */
export function portFor(type, kind) {
  if (kind === "failed") return "failed";
  return typeInfo(type).ports.includes(kind) ? kind : "out";
}

/** The kinds an edge drawn from this port may be (the first is taken): ["next"], ["true"]. */
export function kindsOfPort(type, port) {
  if (port === "failed") return ["failed"];
  if (port !== "out") return [port];
  return branchKinds(type);
}

/** The node types in palette order. */
export function paletteTypes() {
  return order;
}

/** The kinds the "out" port draws (all but `failed`): ["next"], or ["true", "false"]. */
export function branchKinds(type) {
  return typeInfo(type).out.filter((kind) => kind !== "failed");
}

/** The kind that may leave this type two or more times (a parallel's `branch`), or null. */
export function fanOutKind(type) {
  return typeInfo(type).fan_out || null;
}

/** Whether some node type fans out along this kind: such edges are drawn apart. */
export function isFanOutKind(kind) {
  return fanOutKinds.has(kind);
}

export function edgeStyle(kind) {
  return edgeKinds[kind] || edgeKinds.next || { stroke: "#94a3b8", dash: null, label: null };
}

export function typeInfo(type) {
  return types[type] || { ...UNKNOWN, title: type };
}

function clip(text, max) {
  const value = String(text ?? "");
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

function describeApiCall(node, apiCalls) {
  const spec = apiCalls[node.api_call];
  if (spec) return `${spec.method} · ${spec.name}`;
  return node.api_call ? `${node.api_call} (unknown)` : "Choose an API call";
}

function describeForEach(node) {
  if (!node.items && !node.blueprint) return "Choose a list and a blueprint";
  const each = `each of ${node.items || "…"} → ${node.blueprint || "…"}`;
  return node.concurrency ? `${each} · ×${node.concurrency}` : each;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "es"}`;

// Each takes (node, apiCalls, facts); facts are what the graph around the node says
// (`fanOut`: how many edges of its fan-out kind leave it).
const DESCRIBE = {
  start: () => "Order created",
  api_call: describeApiCall,
  function: (node) => node.function ? `${node.function}(${Object.keys(node.args || {}).join(", ")})` : "Choose a function",
  condition: (node) => node.expression || "Set a condition",
  sleep: (node) => node.duration ? `for ${node.duration}` : node.until ? `until ${node.until}` : "Set a duration",
  wait_signal: (node) => node.signal
    ? `“${node.signal}”${node.timeout ? ` · timeout ${node.timeout}` : ""}` : "Name a signal",
  for_each: describeForEach,
  sub_blueprint: (node) => node.blueprint ? `→ ${node.blueprint}` : "Choose a blueprint",
  parallel: (node, apiCalls, facts) => plural(facts.fanOut || 0, "branch"),
  join: () => "waits for all branches",
  end: (node) => `${node.status === "failed" ? "Fails" : "Completes"}${node.result ? ` · ${node.result}` : ""}`,
};

/** The three text lines a node shows: its type, its name, and what it does. */
export function nodeText(node, apiCalls, facts = {}) {
  const describe = DESCRIBE[node.type] || (() => "");
  const detail = describe(node, apiCalls, facts);
  return {
    kind: typeInfo(node.type).title.toUpperCase(),
    title: clip(node.label || node.id, 18),
    detail: clip(detail, 25),
    tip: `${node.label ? `${node.label} (${node.id})` : node.id}\n${detail}`,
  };
}
