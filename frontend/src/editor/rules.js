// The connection rules enforced while dragging an edge. Validation on the server checks the
// same and more; these keep the obvious mistakes from being drawn at all.
import { nodeOf } from "./convert.js";
import { branchKinds, typeInfo } from "./nodetypes.js";

const kindOf = (edge) => edge.getData()?.kind || "next";

function outKinds(graph, cell, except) {
  return graph.getOutgoingEdges(cell)?.filter((e) => e !== except && e.getTargetCell()).map(kindOf) || [];
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
  const kinds = outKinds(graph, sourceCell, edge);
  if (sourcePort === "failed" && kinds.includes("failed")) return `“${source.id}” already has a failed path`;
  const branches = branchKinds(source.type);
  if (sourcePort === "out" && branches.every((kind) => kinds.includes(kind))) {
    return branches.length > 1 ? `“${source.id}” already has its ${branches.join(" and ")} branches`
      : `“${source.id}” already has a next step`;
  }
  if (reaches(graph, targetCell, sourceCell)) return "That would make a loop; blueprints run forward only";
  return null;
}

/** The kind of a new edge from a port: null when the user has to choose (true or false). */
export function kindForNewEdge(graph, edge, sourceCell, sourcePort) {
  if (sourcePort === "failed") return "failed";
  const branches = branchKinds(nodeOf(sourceCell).type);
  if (branches.length === 1) return branches[0];
  const kinds = outKinds(graph, sourceCell, edge);
  const free = branches.filter((kind) => !kinds.includes(kind));
  return free.length === 1 ? free[0] : null;
}

/** The kinds an existing edge may switch to, given its source's other edges. */
export function allowedKinds(graph, edge) {
  const sourceCell = edge.getSourceCell();
  const taken = outKinds(graph, sourceCell, edge);
  const options = typeInfo(nodeOf(sourceCell).type).out;
  return options.filter((kind) => kind === kindOf(edge) || !taken.includes(kind));
}
