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
};
const UNKNOWN = { title: "?", color: "#64748b", hint: "", accepts_in: true, out: ["next"], required_out: [], icon: "M4 4h8v8H4z", ports: ["in", "out"] };

let types = {};
let order = [];
let edgeKinds = {};

/** Take the server's catalogue; every function below reads from it. */
export function setCatalogue(catalogue) {
  types = Object.fromEntries(catalogue.node_types.map((spec) => [spec.type, withPorts(spec)]));
  order = catalogue.node_types.map((spec) => spec.type);
  edgeKinds = Object.fromEntries(catalogue.edge_kinds.map((spec) => [spec.kind, spec]));
}

function withPorts(spec) {
  const ports = [];
  if (spec.accepts_in) ports.push("in");
  if (spec.out.some((kind) => kind !== "failed")) ports.push("out");
  if (spec.out.includes("failed")) ports.push("failed");
  return { ...spec, icon: ICONS[spec.icon] || UNKNOWN.icon, ports };
}

/** The node types in palette order. */
export function paletteTypes() {
  return order;
}

/** The kinds the "out" port draws (all but `failed`): ["next"], or ["true", "false"]. */
export function branchKinds(type) {
  return typeInfo(type).out.filter((kind) => kind !== "failed");
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

const DESCRIBE = {
  start: () => "Order created",
  api_call: describeApiCall,
  function: (node) => node.function ? `${node.function}(${Object.keys(node.args || {}).join(", ")})` : "Choose a function",
  condition: (node) => node.expression || "Set a condition",
  sleep: (node) => node.duration ? `for ${node.duration}` : node.until ? `until ${node.until}` : "Set a duration",
  wait_signal: (node) => node.signal
    ? `“${node.signal}”${node.timeout ? ` · timeout ${node.timeout}` : ""}` : "Name a signal",
  end: (node) => `${node.status === "failed" ? "Fails" : "Completes"}${node.result ? ` · ${node.result}` : ""}`,
};

/** The three text lines a node shows: its type, its name, and what it does. */
export function nodeText(node, apiCalls) {
  const describe = DESCRIBE[node.type] || (() => "");
  return {
    kind: typeInfo(node.type).title.toUpperCase(),
    title: clip(node.label || node.id, 18),
    detail: clip(describe(node, apiCalls), 25),
    tip: `${node.label ? `${node.label} (${node.id})` : node.id}\n${describe(node, apiCalls)}`,
  };
}
