// The X6 shapes of the canvas: one node shape for every step type, one edge shape.
import { Graph } from "@antv/x6";
import { edgeStyle, isFanOutKind, nodeText, typeInfo } from "./nodetypes.js";

export const NODE_WIDTH = 184;
export const NODE_HEIGHT = 60;

// Right-angled edges share their first segment when several leave one port; the edges of a
// fan-out kind (a parallel's branches) are curves instead, which part at once.
const ORTH = { router: { name: "orth", args: { padding: 10 } }, connector: { name: "rounded", args: { radius: 10 } } };
const FANNED = { router: { name: "normal" }, connector: { name: "smooth", args: { direction: "H" } } };

const port = (position, color, magnet) => ({
  position,
  attrs: {
    circle: { r: 5.5, magnet, stroke: color, strokeWidth: 1.6, fill: "#fff" },
  },
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
      refWidth: "100%", refHeight: "100%", rx: 11, ry: 11,
      fill: "#ffffff", stroke: "#dbe1ea", strokeWidth: 1.2, class: "wb-node-body",
    },
    ring: {
      refX: -4, refY: -4, refWidth: 8, refHeight: 8, rx: 14, ry: 14,
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
      out: port("right", "#64748b", true),
      failed: port("bottom", "#dc2626", true),
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

export function nodePorts(type) {
  return typeInfo(type).ports.map((group) => ({ id: group, group }));
}

/** The metadata of a new node cell for a blueprint node. */
export function nodeCell(node, position, apiCalls, facts = {}) {
  return {
    shape: "wb-node",
    x: position.x,
    y: position.y,
    data: { node },
    attrs: nodeAttrs(node, apiCalls, facts),
    ports: nodePorts(node.type),
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

function edgeLabel(text, color) {
  return {
    attrs: {
      label: { text, fill: color, fontSize: 11, fontWeight: 600, fontFamily: "inherit" },
      body: { ref: "label", fill: "#fff", stroke: color, strokeWidth: 1, rx: 8, ry: 8, refWidth: 14, refHeight: 6, refX: -7, refY: -3 },
    },
    position: { distance: 0.5 },
  };
}
