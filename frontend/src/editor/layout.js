// Auto-layout: a layered left-to-right drawing (dagre), applied as one undoable step.
import dagre from "@dagrejs/dagre";

const GAP = { nodesep: 36, ranksep: 64, edgesep: 20, marginx: 40, marginy: 40 };

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
  return positions;
}

export function applyLayout(graph, positions) {
  graph.startBatch("layout");
  for (const node of graph.getNodes()) {
    const at = positions.get(node.id);
    if (at) node.setPosition(at.x, at.y);
  }
  for (const edge of graph.getEdges()) if (edge.getVertices().length) edge.setVertices([]);
  graph.stopBatch("layout");
}

export function autoLayout(graph) {
  applyLayout(graph, computeLayout(graph));
}
