// The connection rules enforced while dragging an edge. Validation on the server checks the
// same and more; these keep the obvious mistakes from being drawn at all. Every rule reads the
// server's catalogue (nodetypes.js): which kinds leave a type, and which one of them (its
// `fan_out` kind, a parallel's branches) may leave it any number of times.
import { nodeOf } from "./convert.js";
import { fanOutKind, kindsOfPort, typeInfo } from "./nodetypes.js";

const kindOf = (edge) => edge.getData()?.kind || "next";

function outKinds(graph, cell, except) {
  return graph.getOutgoingEdges(cell)?.filter((e) => e !== except && e.getTargetCell()).map(kindOf) || [];
}

/** The kinds still free to leave `cell`: its fan-out kind always is, the others once. */
function freeKinds(graph, cell, except, options) {
  const taken = outKinds(graph, cell, except);
  const fan = fanOutKind(nodeOf(cell).type);
  return options.filter((kind) => kind === fan || !taken.includes(kind));
}

/** How many edges of its fan-out kind leave this node (0 for a type without one). */
export function fanOutCount(graph, cell) {
  const fan = fanOutKind(nodeOf(cell).type);
  return fan ? outKinds(graph, cell).filter((kind) => kind === fan).length : 0;
}

function reaches(graph, from, to) {
  const seen = new Set();
  const stack = [from];
  while (stack.length) {
    const cell = stack.pop();
    if (cell === to) return true;
    if (seen.has(cell.id)) continue;
    seen.add(cell.id);
    for (const edge of graph.getOutgoingEdges(cell) || []) {
      const next = edge.getTargetCell();
      if (next) stack.push(next);
    }
  }
  return false;
}

const named = (node) => `“${node.label || node.id}”`;

/** The edge a new edge from this port takes the place of: the port's one edge, unless the
 * port fans out (a parallel's branches), where every edge is a new one. */
export function replacedEdge(graph, edge, sourceCell, sourcePort) {
  const type = nodeOf(sourceCell).type;
  const fan = fanOutKind(type);
  const kinds = kindsOfPort(type, sourcePort);
  return graph.getOutgoingEdges(sourceCell)?.find((other) => other !== edge && other.getTargetCell()
    && kinds.includes(kindOf(other)) && kindOf(other) !== fan) || null;
}

/** Why this connection is refused, or null when it is allowed. Drawing from a port that
 * already has its edge is allowed: the new edge moves that one (see replacedEdge). */
export function connectionProblem(graph, { edge, sourceCell, targetCell, sourcePort, targetPort }) {
  if (!sourceCell || !targetCell || !sourceCell.isNode() || !targetCell.isNode()) return "";
  if (targetPort !== "in") return "";
  const source = nodeOf(sourceCell);
  const target = nodeOf(targetCell);
  if (sourceCell === targetCell) return "A step cannot lead to itself";
  if (!typeInfo(target.type).accepts_in) return `Nothing can lead into ${typeInfo(target.type).title.toLowerCase()}`;
  if (!typeInfo(source.type).out.length) return `Nothing comes after ${typeInfo(source.type).title.toLowerCase()}`;
  const replaced = replacedEdge(graph, edge, sourceCell, sourcePort);
  const parallel = graph.getOutgoingEdges(sourceCell)?.some(
    (e) => e !== edge && e !== replaced && e.getTargetCell() === targetCell);
  if (parallel) return `${named(source)} already leads to ${named(target)}`;
  if (reaches(graph, targetCell, sourceCell)) return "That would make a loop: a blueprint runs forward only";
  return null;
}

/** The kind of a new edge drawn from this port: its port says it ("true", "failed", "next"). */
export function kindForNewEdge(sourceCell, sourcePort) {
  return kindsOfPort(nodeOf(sourceCell).type, sourcePort)[0];
}

/** The kinds an existing edge may switch to, given its source's other edges. */
export function allowedKinds(graph, edge) {
  const sourceCell = edge.getSourceCell();
  const options = typeInfo(nodeOf(sourceCell).type).out;
  return options.filter((kind) => kind === kindOf(edge) || freeKinds(graph, sourceCell, edge, [kind]).length);
}
