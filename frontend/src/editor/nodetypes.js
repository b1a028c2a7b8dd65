// What each node type looks like and which ports it has. Shared by the palette and the canvas.

export const NODE_TYPES = {
  start: {
    title: "Start", color: "#16a34a", hint: "Where every order begins",
    ports: ["out"], icon: "M5 3.5v9l7.5-4.5z",
  },
  api_call: {
    title: "API call", color: "#2563eb", hint: "Send an HTTP request, keep parts of the response",
    ports: ["in", "out", "failed"], icon: "M2.5 8h10M9 4.5 12.5 8 9 11.5",
  },
  function: {
    title: "Function", color: "#7c3aed", hint: "Run a registered function",
    ports: ["in", "out", "failed"],
    icon: "M6 2.5C4.5 2.5 4.5 4 4.5 5v1c0 1-.8 2-2 2 1.2 0 2 1 2 2v1c0 1 0 2.5 1.5 2.5M10 2.5c1.5 0 1.5 1.5 1.5 2.5v1c0 1 .8 2 2 2-1.2 0-2 1-2 2v1c0 1 0 2.5-1.5 2.5",
  },
  condition: {
    title: "Condition", color: "#d97706", hint: "Branch on an expression: true or false",
    ports: ["in", "out"], icon: "M8 2 14 8 8 14 2 8z",
  },
  sleep: {
    title: "Sleep", color: "#0891b2", hint: "Wait for a duration or until a time",
    ports: ["in", "out"], icon: "M8 2.2a5.8 5.8 0 1 0 0 11.6A5.8 5.8 0 1 0 8 2.2zM8 5v3.2l2.2 1.6",
  },
  wait_signal: {
    title: "Wait for signal", color: "#db2777", hint: "Pause until a signal arrives",
    ports: ["in", "out", "failed"], icon: "M4 14V2.5M4 3h8l-2 3 2 3H4",
  },
  end: {
    title: "End", color: "#475569", hint: "Finish the order with a result",
    ports: ["in"], icon: "M4.5 4.5h7v7h-7z",
  },
};

export const PALETTE_ORDER = ["api_call", "function", "condition", "sleep", "wait_signal", "end", "start"];

const EDGE_STYLES = {
  next: { stroke: "#94a3b8", dash: null, label: null },
  true: { stroke: "#16a34a", dash: null, label: "true" },
  false: { stroke: "#ea580c", dash: null, label: "false" },
  failed: { stroke: "#dc2626", dash: "5 4", label: "failed" },
};

export function edgeStyle(kind) {
  return EDGE_STYLES[kind] || EDGE_STYLES.next;
}

export function typeInfo(type) {
  return NODE_TYPES[type] || { title: type, color: "#64748b", hint: "", ports: ["in", "out"], icon: "M4 4h8v8H4z" };
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
