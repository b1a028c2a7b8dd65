// The connection rules enforced while dragging an edge. Validation on the server checks the
// same and more; these keep the obvious mistakes from being drawn at all. Every rule reads the
// server's catalogue (nodetypes.js): which kinds leave a type, and which one of them (its
// `fan_out` kind, a parallel's branches) may leave it any number of times.
import { nodeOf } from "./convert.js";
import { branchKinds, fanOutKind, typeInfo } from "./nodetypes.js";

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

function fullMessage(id, branches) {
  if (branches.length > 1) return `“${id}” already has its ${branches.join(" and ")} branches`;
  return branches[0] === "next" ? `“${id}” already has a next step` : `“${id}” already has its ${branches[0]} edge`;
}

/** Why this connection is refused, or null when it is allowed. */
export function connectionProblem(graph, { edge, sourceCell, targetCell, sourcePort, targetPort }) {
  if (!sourceCell || !targetCell || !sourceCell.isNode() || !targetCell.isNode()) return "";
  if (targetPort !== "in") return "";
  const source = nodeOf(sourceCell);
  const target = nodeOf(targetCell);
  if (sourceCell === targetCell) return "A step cannot lead to itself";
  if (!typeInfo(target.type).accepts_in) return `Nothing can lead into ${typeInfo(target.type).title.toLowerCase()}`;
  if (!typeInfo(source.type).out.length) return `Nothing comes after ${typeInfo(source.type).title.toLowerCase()}`;
  const parallel = graph.getOutgoingEdges(sourceCell)?.some(
    (e) => e !== edge && e.getTargetCell() === targetCell);
  if (parallel) return `“${source.id}” already leads to “${target.id}”`;
  if (sourcePort === "failed" && !freeKinds(graph, sourceCell, edge, ["failed"]).length) {
    return `“${source.id}” already has a failed path`;
  }
  const branches = branchKinds(source.type);
  if (sourcePort === "out" && !freeKinds(graph, sourceCell, edge, branches).length) {
    return fullMessage(source.id, branches);
  }
  if (reaches(graph, targetCell, sourceCell)) return "That would make a loop; blueprints run forward only";
  return null;
}

/** The kinds a new edge from this port may be: one is taken without asking, more are a choice. */
export function kindsForNewEdge(graph, edge, sourceCell, sourcePort) {
  if (sourcePort === "failed") return ["failed"];
  const branches = branchKinds(nodeOf(sourceCell).type);
  if (branches.length === 1) return branches;
  const free = freeKinds(graph, sourceCell, edge, branches);
  return free.length ? free : branches;
}

/** The kinds an existing edge may switch to, given its source's other edges. */
export function allowedKinds(graph, edge) {
  const sourceCell = edge.getSourceCell();
  const options = typeInfo(nodeOf(sourceCell).type).out;
  return options.filter((kind) => kind === kindOf(edge) || freeKinds(graph, sourceCell, edge, [kind]).length);
}
