// Connecting steps, each in one gesture and one undo step:
// - drag from a port to a step (its in-port or anywhere on it): a new edge, of the kind the
//   port says; from a port that already has its edge, that edge moves instead;
// - the "+" on a free port: pick a step type, and the new step is added there and connected;
// - drop a step (from the palette, or a loose one from the canvas) onto an edge: it is
//   inserted into that edge.
// A drag asks every port whether it could take the edge; only the drop says so to the user.
import { busyPorts, edgeCell, nodeOf } from "./convert.js";
import { kindsOfPort, typeInfo } from "./nodetypes.js";
import { newNode } from "./palette.js";
import { addableTypes } from "./picker.js";
import { connectionProblem, kindForNewEdge, replacedEdge } from "./rules.js";
import { addButton, NODE_HEIGHT, NODE_WIDTH, nodeCell } from "./shapes.js";
import { toast } from "./toast.js";

const NEAR = 22; // px on screen: how close a drop must be to a step or an edge
const GAP_X = 96;
const GAP_Y = 44;

export function bindConnecting(editor) {
  const { graph } = editor;
  let refusals = new Map(); // target cell id -> why, for the drag under way

  editor.noteRefusal = (reason, cell) => { if (reason && cell) refusals.set(cell.id, reason); };

  /** Where a drawn edge ends: snapped to a port, or dropped on a step's body (its in-port). */
  editor.dropEdge = (edge) => {
    const noted = refusals;
    refusals = new Map();
    if (edge.getTargetCell()) return true;
    const point = edge.getTargetPoint();
    const margin = NEAR / graph.scale().sx;
    const under = graph.getNodes().find((cell) => cell !== edge.getSourceCell()
      && cell.getBBox().inflate(margin).containsPoint(point));
    if (!under) return false; // let go on the blank canvas: nothing to say
    const problem = connectionProblem(graph, {
      edge, sourceCell: edge.getSourceCell(), targetCell: under, sourcePort: edge.getSourcePortId(), targetPort: "in",
    });
    if (problem === null) {
      edge.setTarget({ cell: under.id, port: "in" });
      return true;
    }
    const reason = problem || noted.get(under.id);
    if (reason) toast(reason, "warn", 3000);
    return false;
  };

  graph.on("edge:connected", ({ edge, isNew }) => {
    if (!isNew) return;
    const source = edge.getSourceCell();
    const port = edge.getSourcePortId();
    // still inside the drag's batch: the move of the old edge is the same undo step
    const replaced = replacedEdge(graph, edge, source, port);
    if (replaced) graph.removeCell(replaced);
    editor.setEdgeKind(edge, kindForNewEdge(source, port));
  });

  // ---- the "+" of a free port ------------------------------------------------------------------
  /** Show each output port's "+" only while the port has no edge. */
  editor.refreshPorts = (cell) => {
    if (!cell?.isNode?.() || !graph.hasCell(cell)) return;
    const type = nodeOf(cell).type;
    const kinds = (graph.getOutgoingEdges(cell) || []).map((edge) => edge.getData()?.kind || "next");
    const busy = busyPorts(type, kinds);
    for (const port of cell.getPorts()) {
      if (port.group === "in") continue;
      const display = addButton(port.id, !busy.has(port.id)).add.display;
      if ((cell.getPortProp(port.id, "attrs/add/display") ?? null) !== display) {
        cell.setPortProp(port.id, "attrs/add/display", display, { silentHistory: true });
      }
    }
  };
  const refreshSource = ({ edge, cell, previous }) => {
    const line = edge || cell;
    if (!line?.isEdge?.()) return;
    editor.refreshPorts(graph.getCellById(line.getSourceCellId()));
    if (previous?.cell) editor.refreshPorts(graph.getCellById(previous.cell));
  };
  graph.on("edge:added", refreshSource);
  graph.on("edge:removed", refreshSource);
  graph.on("edge:change:source", refreshSource);
  graph.on("edge:change:target", refreshSource);
  graph.on("edge:change:data", refreshSource);

  /** A spot right of (or, for a failed path, below) the port, moved down until it is free. */
  function spotAfter(cell, port) {
    const box = cell.getBBox();
    const ports = typeInfo(nodeOf(cell).type).ports.filter((id) => id !== "in" && id !== "failed");
    const spot = port === "failed"
      ? { x: box.x, y: box.y + box.height + GAP_Y + 16 }
      : { x: box.x + box.width + GAP_X, y: box.y + (ports.indexOf(port) - (ports.length - 1) / 2) * (NODE_HEIGHT + GAP_Y) };
    const taken = graph.getNodes().map((other) => other.getBBox().inflate(12));
    const overlaps = () => taken.some((other) => other.isIntersectWithRect({ ...spot, width: NODE_WIDTH, height: NODE_HEIGHT }));
    for (let tries = 0; tries < 40 && overlaps(); tries += 1) spot.y += NODE_HEIGHT + 20;
    return spot;
  }

  /** Add a step of `type` after `cell`'s `port`, connected to it; selected, as one undo step. */
  editor.addStepAfter = (cell, port, type) => {
    if (editor.readOnly || !graph.hasCell(cell)) return null;
    const node = newNode(editor, type);
    const kind = kindsOfPort(nodeOf(cell).type, port)[0];
    graph.startBatch("add-step");
    const added = graph.addNode(nodeCell(node, spotAfter(cell, port), editor.apiCalls));
    editor.forgetIndex();
    graph.addEdge(edgeCell(cell.id, added.id, kind, "", nodeOf(cell).type));
    graph.stopBatch("add-step");
    graph.resetSelection(added);
    editor.keepInView(added);
    return added;
  };

  graph.on("node:add-step", ({ e, node }) => {
    e.stopPropagation();
    e.preventDefault(); // the press must not move the focus out of the picker it opens
    if (editor.readOnly) return;
    const port = e.target.closest("[data-port]")?.getAttribute("data-port");
    if (!port) return;
    const present = new Set(graph.getNodes().map((cell) => nodeOf(cell).type));
    editor.picker.open(e.clientX, e.clientY, addableTypes(present), (type) => editor.addStepAfter(node, port, type));
  });

  // ---- dropping a step onto an edge ------------------------------------------------------------
  function edgeUnder(cell) {
    const center = cell.getBBox().getCenter();
    const reach = NEAR / graph.scale().sx;
    let best = null;
    for (const edge of graph.getEdges()) {
      if (edge.getSourceCell() === cell || edge.getTargetCell() === cell) continue;
      const view = graph.findViewByCell(edge);
      const point = view?.getClosestPoint?.(center);
      if (!point) continue;
      const distance = point.distance(center);
      if (distance <= reach && (!best || distance < best.distance)) best = { edge, distance };
    }
    return best?.edge || null;
  }

  /** Put a step that has no edges of its own into `edge`: source → step → target. */
  function insertInto(cell, edge) {
    const type = nodeOf(cell).type;
    const info = typeInfo(type);
    const out = info.ports.find((id) => id !== "in" && id !== "failed");
    if (!info.accepts_in || !out) return false;
    const source = edge.getSourceCell();
    const target = edge.getTargetCell();
    const kind = edge.getData()?.kind || "next";
    const label = edge.getData()?.label || "";
    graph.removeCell(edge);
    graph.addEdge(edgeCell(source.id, cell.id, kind, label, nodeOf(source).type));
    graph.addEdge(edgeCell(cell.id, target.id, kindsOfPort(type, out)[0], "", type));
    return true;
  }

  function loose(cell) {
    return !graph.getConnectedEdges(cell)?.length;
  }

  // from the palette: inside the drop's own batch, so adding and inserting are one undo step
  graph.on("node:added", ({ node, options }) => {
    if (!options?.stencil || editor.readOnly) return;
    const edge = edgeUnder(node);
    if (edge) insertInto(node, edge);
  });
  graph.on("node:moved", ({ node }) => {
    if (editor.readOnly || !loose(node)) return;
    const edge = edgeUnder(node);
    if (!edge) return;
    graph.startBatch("insert");
    insertInto(node, edge);
    graph.stopBatch("insert");
  });
}
