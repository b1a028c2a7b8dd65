// The X6 shapes of the canvas: one node shape for every step type, one edge shape.
import { Graph } from "@antv/x6";
import { routerPresets } from "@antv/x6/es/registry/router/index.js";
import { edgeStyle, isFanOutKind, nodeText, typeInfo } from "./nodetypes.js";

export const NODE_WIDTH = 184;
export const NODE_HEIGHT = 60;

// Right-angled edges go around the steps in their way: the plain right-angled route, unless it
// crosses a step, and then a path found around every step (manhattan; costly, so only then).
// The edges of a fan-out kind (a parallel's branches) are curves instead, which part at once.
const AROUND = { padding: 14, step: 10, maxLoopCount: 800, excludeTerminals: [] };

function crossesAStep(view, points) {
  const { sourceBBox, targetBBox } = view;
  if (!sourceBBox || !targetBBox) return false;
  const line = [sourceBBox.getCenter(), ...points, targetBBox.getCenter()];
  const ends = new Set([view.cell.getSourceCellId(), view.cell.getTargetCellId()]);
  const steps = view.graph.getNodes().filter((node) => !ends.has(node.id)).map((node) => node.getBBox().inflate(-2));
  for (let i = 1; i < line.length; i += 1) {
    const [a, b] = [line[i - 1], line[i]];
    const box = { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), width: Math.abs(a.x - b.x), height: Math.abs(a.y - b.y) };
    if (steps.some((step) => step.isIntersectWithRect(box))) return true;
  }
  return false;
}

// Finding paths around steps waits until a big blueprint's first drawing is on screen
// (routeAround); the edges that need it are then routed again.
export const routing = { around: true };

/** Route again, around the steps, every edge whose plain route crosses one. */
export function routeAround(graph) {
  routing.around = true;
  for (const edge of graph.getEdges()) {
    const view = graph.findViewByCell(edge);
    if (view?.routePoints && crossesAStep(view, view.routePoints)) view.update();
  }
}

Graph.registerRouter("wb-around", function route(vertices, args, view) {
  const points = routerPresets.orth.call(this, vertices, args, view);
  if (!routing.around || vertices.length || !view.cell.getTargetCellId() || !crossesAStep(view, points)) return points;
  return routerPresets.manhattan.call(this, vertices, { ...AROUND, padding: args.padding ?? AROUND.padding }, view);
}, true);

const ORTH = { router: { name: "wb-around", args: { padding: 10 } }, connector: { name: "rounded", args: { radius: 10 } } };
const FANNED = { router: { name: "normal" }, connector: { name: "smooth", args: { direction: "H" } } };

// An output port that has no edge yet carries a "+" (labelled with its kind where a type has
// one port per kind: "+ true"). Pressing it fires `node:add-step`, which opens the step picker.
const ADD_MARKUP = [{
  tagName: "g", selector: "add", className: "wb-add",
  children: [{ tagName: "rect", selector: "addBg" }, { tagName: "text", selector: "text" }],
}];
const ADD_ATTRS = {
  add: { event: "node:add-step", cursor: "pointer" },
  addBg: { height: 18, rx: 9, ry: 9, y: -9, fill: "#fff", strokeWidth: 1.2 },
  text: { fontSize: 11, fontWeight: 700, textVerticalAnchor: "middle", fontFamily: "inherit", y: 0.5 },
};

const port = (position, color, magnet, label) => ({
  position,
  attrs: {
    circle: { r: 5.5, magnet, stroke: color, strokeWidth: 1.6, fill: "#fff" },
    ...(label ? ADD_ATTRS : {}),
  },
  ...(label ? { label: { markup: ADD_MARKUP, position: label } } : {}),
});

Graph.registerNode("wb-node", {
  width: NODE_WIDTH,
  height: NODE_HEIGHT,
  markup: [
    { tagName: "rect", selector: "body" },
    { tagName: "rect", selector: "ring" },
    { tagName: "rect", selector: "iconBg" },
    { tagName: "path", selector: "icon" },
    { tagName: "text", selector: "kind" },
    { tagName: "text", selector: "title" },
    { tagName: "text", selector: "detail" },
    {
      tagName: "g", selector: "badge",
      children: [
        { tagName: "circle", selector: "badgeDot" },
        { tagName: "text", selector: "badgeText" },
      ],
    },
  ],
  attrs: {
    body: {
      // sizes in numbers, not refWidth: relative sizes cost a measurement per node to draw
      width: NODE_WIDTH, height: NODE_HEIGHT, rx: 11, ry: 11,
      fill: "#ffffff", stroke: "#dbe1ea", strokeWidth: 1.2, class: "wb-node-body",
    },
    ring: {
      x: -4, y: -4, width: NODE_WIDTH + 8, height: NODE_HEIGHT + 8, rx: 14, ry: 14,
      fill: "none", stroke: "none", strokeWidth: 2, pointerEvents: "none", class: "wb-node-ring",
    },
    iconBg: { x: 10, y: 13, width: 34, height: 34, rx: 9, ry: 9 },
    icon: {
      transform: "translate(19, 22)", fill: "none", strokeWidth: 1.7,
      strokeLinecap: "round", strokeLinejoin: "round",
    },
    kind: {
      x: 54, y: 17, fontSize: 9, fontWeight: 700, letterSpacing: 0.6,
      textVerticalAnchor: "middle", fontFamily: "inherit",
    },
    title: {
      x: 54, y: 32, fontSize: 12.5, fontWeight: 600, fill: "#0f172a",
      textVerticalAnchor: "middle", fontFamily: "inherit",
    },
    detail: {
      x: 54, y: 46.5, fontSize: 11, fill: "#64748b",
      textVerticalAnchor: "middle", fontFamily: "inherit",
    },
    badge: { transform: `translate(${NODE_WIDTH - 6}, 6)`, display: "none", class: "wb-badge" },
    badgeDot: { r: 9, fill: "#dc2626", stroke: "#fff", strokeWidth: 2 },
    badgeText: {
      fontSize: 10, fontWeight: 700, fill: "#fff", textAnchor: "middle",
      textVerticalAnchor: "middle", fontFamily: "inherit",
    },
  },
  ports: {
    groups: {
      in: port("left", "#64748b", "passive"),
      out: port("right", "#64748b", true, { name: "right", args: { x: 8, y: 0 } }),
      failed: port("bottom", "#dc2626", true, { name: "bottom", args: { x: 0, y: 16 } }),
    },
  },
}, true);

Graph.registerEdge("wb-edge", {
  inherit: "edge",
  attrs: {
    line: {
      stroke: "#94a3b8", strokeWidth: 1.6,
      targetMarker: { name: "block", width: 8, height: 6 },
    },
  },
  ...ORTH,
  zIndex: 0,
  // X6's own default label sizes its box from the text's measured size (refWidth): ours is
  // sized from the text's length (edgeLabel), so drawing a label measures nothing
  defaultLabel: {
    markup: [{ tagName: "rect", selector: "body" }, { tagName: "text", selector: "label" }],
    attrs: {
      label: { fill: "#64748b", fontSize: 11, fontWeight: 600, fontFamily: "inherit", textAnchor: "middle", textVerticalAnchor: "middle", pointerEvents: "none" },
      body: { fill: "#fff", strokeWidth: 1, rx: 8, ry: 8, height: 18, y: -9 },
    },
    position: { distance: 34 },
  },
}, true);

// Steps that only route (a parallel's fork, its join) are pills with a round icon, so that
// a flow's branching points read apart from the steps that do work. Same size as a card: the
// order page lays text and badges out by NODE_WIDTH.
const GATE = {
  body: { rx: NODE_HEIGHT / 2, ry: NODE_HEIGHT / 2 },
  ring: { rx: NODE_HEIGHT / 2 + 4, ry: NODE_HEIGHT / 2 + 4 },
  iconBg: { rx: 17, ry: 17 },
};

/** The attrs that draw a node from its logic; the one place a node's look is derived.
 * `facts` are what the graph says around it (see nodeText). */
export function nodeAttrs(node, apiCalls, facts = {}) {
  const info = typeInfo(node.type);
  const text = nodeText(node, apiCalls, facts);
  const gate = info.gate ? GATE : { body: {}, ring: {}, iconBg: {} };
  return {
    body: gate.body,
    ring: gate.ring,
    iconBg: { fill: info.color, fillOpacity: 0.12, ...gate.iconBg },
    icon: { d: info.icon, stroke: info.color },
    kind: { text: text.kind, fill: info.color },
    title: { text: text.title },
    detail: { text: text.detail },
  };
}

const groupOf = (id) => (id === "in" || id === "failed" ? id : "out");

/** The "+" of one output port: its text, its width, and whether it shows (the port is free). */
export function addButton(id, free) {
  const style = edgeStyle(id === "out" ? "next" : id);
  const text = id === "out" ? "+" : `+ ${style.label || id}`;
  const width = id === "out" ? 18 : 14 + text.length * 6;
  const x = id === "failed" ? -width / 2 : 0;
  return {
    add: { "data-port": id, display: free ? null : "none" },
    addBg: { width, x, stroke: style.stroke },
    text: { text, x: x + width / 2, textAnchor: "middle", fill: style.stroke },
  };
}

/** A type's ports; `busy` names the output ports that already have their edge. */
export function nodePorts(type, busy = new Set()) {
  return typeInfo(type).ports.map((id) => {
    const group = groupOf(id);
    if (group === "in") return { id, group };
    const color = id === "out" ? "#64748b" : edgeStyle(id).stroke;
    return { id, group, attrs: { ...addButton(id, !busy.has(id)), circle: { stroke: color } } };
  });
}

/** The metadata of a new node cell for a blueprint node. `facts.busy`: see nodePorts. */
export function nodeCell(node, position, apiCalls, facts = {}) {
  return {
    shape: "wb-node",
    x: position.x,
    y: position.y,
    data: { node },
    attrs: nodeAttrs(node, apiCalls, facts),
    ports: nodePorts(node.type, facts.busy),
  };
}

export function edgeAppearance(kind, label) {
  const style = edgeStyle(kind);
  const text = label || style.label;
  return {
    attrs: { line: { stroke: style.stroke, strokeDasharray: style.dash || null } },
    labels: text ? [edgeLabel(text, style.stroke)] : [],
    ...(isFanOutKind(kind) ? FANNED : ORTH),
  };
}

// The label's box is sized from its text's length (11px semibold: about 6.4px a character),
// not measured: a measurement per label is most of what drawing a big blueprint's edges costs.
function edgeLabel(text, color) {
  const width = Math.ceil(String(text).length * 6.4) + 14;
  return {
    attrs: {
      label: { text, fill: color },
      body: { stroke: color, width, x: -width / 2 },
    },
    // beside the port it leaves: a condition's two labels sit apart at their own ports
    position: { distance: 34 },
  };
}
