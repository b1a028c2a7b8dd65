// Auto-layout: a layered left-to-right drawing (dagre), applied as one undoable step.
import dagre from "@dagrejs/dagre";
import { routeAround, routing } from "./shapes.js";

// ranksep leaves an edge's label (34px out from its port) room before the edge turns
const GAP = { nodesep: 36, ranksep: 100, edgesep: 20, marginx: 40, marginy: 40 };
const PORT_ORDER = ["true", "false"]; // a condition's ports, top to bottom

/** Positions for every node, computed without touching the graph. */
export function computeLayout(graph) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", ...GAP });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.getNodes()) {
    const { width, height } = node.getSize();
    g.setNode(node.id, { width, height });
  }
  for (const edge of graph.getEdges()) {
    const source = edge.getSourceCellId();
    const target = edge.getTargetCellId();
    if (source && target) g.setEdge(source, target);
  }
  dagre.layout(g);
  const positions = new Map();
  for (const id of g.nodes()) {
    const { x, y, width, height } = g.node(id);
    positions.set(id, { x: Math.round(x - width / 2), y: Math.round(y - height / 2) });
  }
  followPorts(graph, positions);
  return positions;
}

function reach(graph, cell) {
  const seen = new Set();
  const stack = [cell];
  while (stack.length) {
    const next = stack.pop();
    if (seen.has(next.id)) continue;
    seen.add(next.id);
    for (const edge of graph.getOutgoingEdges(next) || []) if (edge.getTargetCell()) stack.push(edge.getTargetCell());
  }
  return seen;
}

// dagre does not know ports: where it drew a condition's false branch above its true branch,
// the two branches (the steps only each reaches) swap bands, so that no edge crosses the other.
function followPorts(graph, positions) {
  for (const cell of graph.getNodes()) {
    const byPort = new Map((graph.getOutgoingEdges(cell) || [])
      .filter((edge) => PORT_ORDER.includes(edge.getSourcePortId()) && edge.getTargetCell())
      .map((edge) => [edge.getSourcePortId(), edge.getTargetCell()]));
    const [upper, lower] = PORT_ORDER.map((port) => byPort.get(port));
    if (!upper || !lower) continue;
    const a = reach(graph, upper);
    const b = reach(graph, lower);
    const onlyA = [...a].filter((id) => !b.has(id));
    const onlyB = [...b].filter((id) => !a.has(id));
    if (!onlyA.length || !onlyB.length) continue;
    const band = (ids) => {
      const ys = ids.map((id) => positions.get(id).y);
      const bottoms = ids.map((id) => positions.get(id).y + graph.getCellById(id).getSize().height);
      return [Math.min(...ys), Math.max(...bottoms)];
    };
    const [a0, a1] = band(onlyA);
    const [b0, b1] = band(onlyB);
    if (a0 <= b0 || b1 > a0) continue; // already in port order, or the bands overlap
    for (const id of onlyA) positions.get(id).y += b0 - a0;
    for (const id of onlyB) positions.get(id).y += a1 - b1;
  }
}

// Edges find their way around steps once every step is in its place, not at each move.
export function applyLayout(graph, positions) {
  const around = routing.around;
  routing.around = false;
  graph.startBatch("layout");
  for (const node of graph.getNodes()) {
    const at = positions.get(node.id);
    if (at) node.setPosition(at.x, at.y);
  }
  for (const edge of graph.getEdges()) if (edge.getVertices().length) edge.setVertices([]);
  graph.stopBatch("layout");
  if (around) routeAround(graph);
}

export function autoLayout(graph) {
  applyLayout(graph, computeLayout(graph));
}
