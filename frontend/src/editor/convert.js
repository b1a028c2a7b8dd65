// Between the blueprint format (nodes and edges carry logic, `layout` carries positions)
// and the X6 graph (cells whose `data` hold the logic).
import { fanOutKind, portFor } from "./nodetypes.js";
import { edgeAppearance, nodeCell } from "./shapes.js";

const META_KEYS = ["id", "name", "description", "input_schema", "sample_input", "dispatch", "webhook", "concurrency"];

export function splitDoc(doc) {
  const meta = {};
  for (const key of META_KEYS) if (doc[key] !== undefined) meta[key] = doc[key];
  return { meta, nodes: doc.nodes || [], edges: doc.edges || [], layout: doc.layout || {} };
}

// How many edges of each kind leave each node: "id\u0000kind" -> count.
function countOut(edges) {
  const counts = new Map();
  for (const edge of edges) {
    const key = `${edge.source}\u0000${edge.kind || "next"}`;
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  return counts;
}

/** The output ports of a node of `type` that already have their edge, given its edges' kinds
 * (a fan-out kind never fills its port: a parallel takes any number of branches). */
export function busyPorts(type, kinds) {
  const fan = fanOutKind(type);
  return new Set(kinds.filter((kind) => kind !== fan).map((kind) => portFor(type, kind)));
}

/** X6 cells for a blueprint; `missing` lists node ids that had no position. */
export function docToCells(doc, apiCalls) {
  const { nodes, edges, layout } = splitDoc(doc);
  const cellIds = new Map();
  const missing = [];
  const outCounts = countOut(edges);
  const kindsFrom = new Map();
  for (const edge of edges) kindsFrom.set(edge.source, [...(kindsFrom.get(edge.source) || []), edge.kind || "next"]);
  const types = new Map(nodes.map((node) => [node.id, node.type]));
  const cells = nodes.map((raw, index) => {
    const { position, ...node } = raw;
    const where = layout[node.id] || position;
    if (!where) missing.push(node.id);
    const fan = fanOutKind(node.type);
    const facts = { busy: busyPorts(node.type, kindsFrom.get(node.id) || []) };
    if (fan) facts.fanOut = outCounts.get(`${node.id}\u0000${fan}`) || 0;
    const cell = nodeCell(node, where || { x: 0, y: index * 100 }, apiCalls, facts);
    cell.id = `n:${node.id}`;
    cellIds.set(node.id, cell.id);
    return cell;
  });
  for (const edge of edges) {
    const source = cellIds.get(edge.source);
    const target = cellIds.get(edge.target);
    if (!source || !target) continue; // validation reports it; the canvas cannot draw it
    cells.push(edgeCell(source, target, edge.kind || "next", edge.label, types.get(edge.source)));
  }
  return { cells, missing };
}

export function edgeCell(sourceCell, targetCell, kind, label, sourceType) {
  return {
    shape: "wb-edge",
    source: { cell: sourceCell, port: portFor(sourceType, kind) },
    target: { cell: targetCell, port: "in" },
    data: label ? { kind, label } : { kind },
    ...edgeAppearance(kind, label),
  };
}

export function nodeOf(cell) {
  return cell.getData()?.node;
}

function edgeOf(edge) {
  const source = edge.getSourceCell();
  const target = edge.getTargetCell();
  if (!source || !target) return null;
  const { kind = "next", label } = edge.getData() || {};
  const out = { source: nodeOf(source).id, target: nodeOf(target).id };
  if (kind !== "next") out.kind = kind;
  if (label) out.label = label;
  return out;
}

/** The blueprint the canvas shows, in the API's format. */
export function graphToDoc(graph, meta) {
  const nodes = graph.getNodes();
  const layout = {};
  for (const cell of nodes) {
    const { x, y } = cell.getPosition();
    layout[nodeOf(cell).id] = { x: Math.round(x), y: Math.round(y) };
  }
  return {
    ...meta,
    nodes: nodes.map((cell) => ({ ...nodeOf(cell) })),
    edges: graph.getEdges().map(edgeOf).filter(Boolean),
    layout,
  };
}
