// The X6 graph with its plugins: selection, snaplines, undo/redo, keyboard, minimap.
import { Graph, History, Keyboard, MiniMap, Selection, Snapline } from "@antv/x6";
import { connectionProblem } from "./rules.js";
import "./shapes.js";

// Changes that are not the user's edits (error pins, run status, derived text) stay out of undo.
const VIEW_ONLY_KEYS = new Set(["attrs", "labels", "zIndex", "tools"]);

function isUserChange(event, args) {
  if (args?.options?.silentHistory) return false;
  const key = event === "cell:change:*" ? args?.key : event.replace("cell:change:", "");
  return !VIEW_ONLY_KEYS.has(key);
}

export function createGraph({ container, minimap, isReadOnly, onRefused }) {
  const graph = new Graph({
    container,
    autoResize: true,
    async: false, // one synchronous draw: ~3x faster to first render than frame-sliced
    grid: { size: 10, visible: true, type: "dot", args: { color: "#cbd5e1", thickness: 1 } },
    background: { color: "#f8fafc" },
    panning: { enabled: true, eventTypes: ["leftMouseDown"] },
    mousewheel: { enabled: true, modifiers: ["ctrl", "meta"], factor: 1.1, minScale: 0.15, maxScale: 2.5 },
    scaling: { min: 0.15, max: 2.5 },
    interacting: () => (isReadOnly() ? { nodeMovable: false, edgeMovable: false, magnetConnectable: false, edgeLabelMovable: false, arrowheadMovable: false, vertexMovable: false, vertexAddable: false, vertexDeletable: false } : { edgeLabelMovable: false }),
    connecting: {
      snap: { radius: 24 },
      allowBlank: false,
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
        if (problem) onRefused(problem);
        return problem === null;
      },
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
  if (minimap) graph.use(new MiniMap({ container: minimap, width: 200, height: 132, padding: 8 }));
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
