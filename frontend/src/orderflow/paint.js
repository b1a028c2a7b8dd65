// The order's progress on the canvas: a node's colour is its latest step run's status,
// the edges it went along are drawn strong, and what it did not reach is dimmed (struck
// as skipped once the order is over).
//
// A long blueprint fitted into the card is drawn small (a third of its size or less), where
// the editor's three lines of 9 to 12 px text cannot be read. Below READABLE the nodes
// show their name alone, in a font that stays about 11 px on screen, and strokes keep
// their on-screen width, so the overview still reads.
import { nodeOf } from "../editor/convert.js";
import { edgeStyle, nodeText } from "../editor/nodetypes.js";
import { NODE_WIDTH } from "../editor/shapes.js";

export const LOOK = {
  completed: { color: "#16a34a", fill: "#dcfce7", glyph: "✓" },
  failed: { color: "#dc2626", fill: "#fee2e2", glyph: "!" },
  retrying: { color: "#d97706", fill: "#fef3c7", glyph: "↻" },
  throttled: { color: "#ea580c", fill: "#ffedd5", glyph: "⏳" },
  queued: { color: "#4338ca", fill: "#e0e7ff", glyph: "…" },
  sleeping: { color: "#0891b2", fill: "#cffafe", glyph: "z" },
  waiting: { color: "#c026d3", fill: "#fae8ff", glyph: "…" },
  running: { color: "#2563eb", fill: "#dbeafe", glyph: "▸" },
  cancelled: { color: "#64748b", fill: "#f1f5f9", glyph: "×" },
};
const READABLE = 0.6;
const TAKEN = "#4f46e5";

function clip(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** How the text of a node is laid out at this zoom. */
function textAttrs(node, scale) {
  const shown = { display: "inline" };
  if (scale >= READABLE) {
    return {
      iconBg: shown, icon: shown, kind: shown, detail: shown,
      title: { x: 54, y: 32, fontSize: 12.5, text: nodeText(node, {}).title },
    };
  }
  const hidden = { display: "none" };
  const size = Math.min(42, 11.5 / scale);
  const fits = Math.max(4, Math.floor((NODE_WIDTH - 24) / (size * 0.54)));
  return {
    iconBg: hidden, icon: hidden, kind: hidden, detail: hidden,
    title: { x: 12, y: 30, fontSize: size, text: clip(node.label || node.id, fits) },
  };
}

function statusAttrs(status, scale) {
  const look = LOOK[status];
  const thick = Math.max(1, READABLE / scale);
  if (!look) {
    return {
      body: { fill: "#ffffff", stroke: "#cbd5e1", strokeWidth: 1.2 * thick },
      ring: { stroke: "none", strokeDasharray: null }, badge: { display: "none" },
    };
  }
  const badge = Math.min(2.4, thick);
  return {
    body: { fill: look.fill, stroke: look.color, strokeWidth: 2 * thick },
    ring: status === "running" ? { stroke: look.color, strokeWidth: 2 * thick, strokeDasharray: "6 4" }
      : { stroke: "none", strokeDasharray: null },
    badge: { display: "inline", transform: `translate(${NODE_WIDTH - 6}, 6) scale(${badge})` },
    badgeDot: { fill: look.color },
    badgeText: { text: look.glyph },
  };
}

export function paint(graph, { latest, hops, final }, scale) {
  for (const cell of graph.getNodes()) {
    const node = nodeOf(cell);
    const step = latest.get(node.id);
    cell.setAttrs({ ...statusAttrs(step?.status, scale), ...textAttrs(node, scale) });
    const box = graph.findViewByCell(cell)?.container;
    if (!box) continue;
    box.dataset.status = step ? step.status : "none";
    box.classList.toggle("wb-skipped", !step && final);
    box.classList.toggle("wb-ahead", !step && !final);
  }
  const taken = new Set(hops.map(([source, target]) => `${source}\u0000${target}`));
  const thick = Math.max(1, READABLE / scale);
  for (const edge of graph.getEdges()) {
    const source = edge.getSourceCell();
    const target = edge.getTargetCell();
    if (!source || !target) continue;
    const on = taken.has(`${nodeOf(source).id}\u0000${nodeOf(target).id}`);
    const { kind = "next" } = edge.getData() || {};
    edge.setAttrs({ line: { stroke: on ? TAKEN : edgeStyle(kind).stroke, strokeWidth: (on ? 2.6 : 1.4) * thick } });
    edge.setZIndex(on ? 2 : 0);
    const box = graph.findViewByCell(edge)?.container;
    if (!box) continue;
    box.dataset.taken = on ? "true" : "false";
    box.classList.toggle("wb-edge-dim", !on && latest.size > 0);
  }
  graph.container.classList.toggle("is-overview", scale < READABLE);
}
