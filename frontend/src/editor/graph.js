// The X6 graph with its plugins: selection, snaplines, undo/redo, keyboard (the minimap is
// added on first use, panes.js).
import { Graph, History, Keyboard, Selection, Snapline } from "@antv/x6";
import { connectionProblem } from "./rules.js";
import "./shapes.js";

// Fit-to-view may zoom out this far: a 1,000-step blueprint still fits a laptop's canvas.
export const MIN_SCALE = 0.02;

// Changes that are not the user's edits (error pins, run status, derived text) stay out of undo.
const VIEW_ONLY_KEYS = new Set(["attrs", "labels", "zIndex", "tools"]);

function isUserChange(event, args) {
  if (args?.options?.silentHistory) return false;
  const key = event === "cell:change:*" ? args?.key : event.replace("cell:change:", "");
  return !VIEW_ONLY_KEYS.has(key);
}

/** `onRefused(reason, targetCell)` hears why a port cannot take the edge being drawn (it is
 * asked for every port as a drag starts, so it only notes the reason); `onDrop(edge)` decides
 * where the drawn edge ends, and whether it stays. */
export function createGraph({ container, isReadOnly, onRefused, onDrop }) {
  const graph = new Graph({
    container,
    autoResize: true,
    async: false, // one synchronous draw: ~3x faster to first render than frame-sliced
    grid: { size: 10, visible: true, type: "dot", args: { color: "#cbd5e1", thickness: 1 } },
    background: { color: "#f8fafc" },
    panning: { enabled: true, eventTypes: ["leftMouseDown"] },
    mousewheel: { enabled: true, modifiers: ["ctrl", "meta"], factor: 1.1, minScale: MIN_SCALE, maxScale: 2.5 },
    scaling: { min: MIN_SCALE, max: 2.5 },
    interacting: () => (isReadOnly() ? { nodeMovable: false, edgeMovable: false, magnetConnectable: false, edgeLabelMovable: false, arrowheadMovable: false, vertexMovable: false, vertexAddable: false, vertexDeletable: false } : { edgeLabelMovable: false }),
    connecting: {
      snap: { radius: 24 },
      allowBlank: true, // a drop beside a port may still mean a step: onDrop decides
      allowLoop: false,
      allowNode: false,
      allowEdge: false,
      allowMulti: false,
      highlight: true,
      router: { name: "orth", args: { padding: 10 } },
      connector: { name: "rounded", args: { radius: 10 } },
      createEdge() {
        return this.createEdge({ shape: "wb-edge", data: { kind: "next" } });
      },
      validateMagnet: ({ magnet }) => !isReadOnly() && magnet.getAttribute("port-group") !== "in",
      validateConnection(args) {
        const problem = connectionProblem(this, args);
        if (problem) onRefused(problem, args.targetCell);
        return problem === null;
      },
      validateEdge: ({ edge }) => onDrop(edge),
    },
    highlighting: {
      magnetAvailable: { name: "className", args: { className: "wb-port-available" } },
      magnetAdsorbed: { name: "className", args: { className: "wb-port-adsorbed" } },
    },
  });
  graph.use(new Selection({
    enabled: true, multiple: true, rubberband: true, modifiers: ["shift"],
    movable: true, showNodeSelectionBox: false, showEdgeSelectionBox: false, pointerEvents: "none",
  }));
  graph.use(new Snapline({ enabled: true, sharp: true }));
  graph.use(new History({ enabled: true, beforeAddCommand: isUserChange, stackSize: 200 }));
  graph.use(new Keyboard({ enabled: true, global: true }));
  wheelPans(graph, container);
  return graph;
}

// A plain wheel (or two-finger swipe) pans the canvas; ctrl/cmd + wheel zooms (the plugin above).
function wheelPans(graph, container) {
  container.addEventListener("wheel", (event) => {
    if (event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    graph.translateBy(-event.deltaX, -event.deltaY);
  }, { passive: false });
}
