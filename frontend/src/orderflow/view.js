// The read-only canvas of the order page: the editor's node and edge shapes, no editing,
// fitted to its card. Blueprints saved without positions get a simple layered layout here
// (the editor's dagre layout is left out of this page's bundle).
import { Graph } from "@antv/x6";
import { docToCells, nodeOf } from "../editor/convert.js";

const PAD = 24;
const MIN_SCALE = 0.5;
const MIN_HEIGHT = 150;
const MAX_HEIGHT = 420;

export function createView(container, doc, apiCalls) {
  const graph = new Graph({
    container,
    async: false,
    interacting: false,
    background: { color: "#f8fafc" },
    grid: { size: 10, visible: true, type: "dot", args: { color: "#dde3ec", thickness: 1 } },
    panning: { enabled: true, eventTypes: ["leftMouseDown"] },
    mousewheel: { enabled: true, modifiers: ["ctrl", "meta"], factor: 1.1, minScale: 0.1, maxScale: 2 },
    scaling: { min: 0.1, max: 2 },
  });
  const { cells, missing } = docToCells(doc, apiCalls);
  graph.fromJSON({ cells });
  if (missing.length) layered(graph);
  const byId = new Map(graph.getNodes().map((cell) => [nodeOf(cell).id, cell]));
  const node = (id) => byId.get(id) || null;
  return { graph, node, fit: (anchorId, whole = false) => fit(graph, container, node(anchorId), whole) };
}

// The whole blueprint when it fits at MIN_SCALE or more (never above 100%); a longer one at
// MIN_SCALE around `anchor` (where the order is), to be dragged along or fitted whole with
// the card's button, as the editor opens long blueprints. The card's height follows the
// blueprint's shape, so a long, flat blueprint gets a low strip rather than white space.
function fit(graph, container, anchor, whole) {
  const area = graph.getContentArea();
  const width = container.clientWidth;
  if (!width || !area.width) return;
  const fitted = Math.min(1, (width - 2 * PAD) / area.width);
  const scale = Math.max(fitted, MIN_SCALE);
  const height = Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, area.height * scale + 2 * PAD)));
  container.style.height = `${height}px`;
  graph.resize(width, height);
  if (whole || fitted >= MIN_SCALE) {
    graph.zoomToFit({ padding: PAD, maxScale: 1 });
    return;
  }
  graph.zoomTo(MIN_SCALE);
  const middle = anchor ? anchor.getBBox().getCenter().x : area.x;
  const left = PAD - area.x * MIN_SCALE;
  const right = width - PAD - (area.x + area.width) * MIN_SCALE;
  const x = Math.min(left, Math.max(right, width / 2 - middle * MIN_SCALE));
  graph.translate(x, (height - area.height * MIN_SCALE) / 2 - area.y * MIN_SCALE);
}

// Longest path from the start decides the column; rows in the order nodes come.
function layered(graph) {
  const depth = new Map();
  const nodes = graph.getNodes();
  const visit = (cell, level) => {
    if ((depth.get(cell.id) ?? -1) >= level) return;
    depth.set(cell.id, level);
    for (const edge of graph.getOutgoingEdges(cell) || []) {
      const target = edge.getTargetCell();
      if (target && level < nodes.length) visit(target, level + 1);
    }
  };
  for (const cell of nodes) if (!graph.getIncomingEdges(cell)?.length) visit(cell, 0);
  const rows = new Map();
  for (const cell of nodes) {
    const level = depth.get(cell.id) ?? 0;
    const row = rows.get(level) || 0;
    rows.set(level, row + 1);
    cell.setPosition(level * 260, row * 110);
  }
}
