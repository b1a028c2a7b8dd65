// The canvas from the keyboard. Steps are focusable one at a time (a roving tabindex: the
// canvas is one Tab stop, its current step): Tab and Shift+Tab go from step to step in flow
// order and leave the canvas at either end; the arrow keys follow edges (→ to the next step,
// ← back, ↑ ↓ to the step beside, among those one step leads to); Enter opens the step's
// settings; Delete removes it (keys.js). A focused step is the selected step.
import { nodeOf } from "./convert.js";
import { typeInfo } from "./nodetypes.js";

const PORT_ORDER = ["out", "true", "false", "branch", "next", "failed"];

export function bindKeyNav(editor) {
  const { graph } = editor;
  let current = null; // the cell whose view holds tabindex 0
  let cameFrom = new Map(); // cell id -> the cell → was pressed on

  const viewOf = (cell) => graph.findViewByCell(cell)?.container || null;
  const rank = (edge) => {
    const at = PORT_ORDER.indexOf(edge.getData()?.kind || "next");
    return at < 0 ? PORT_ORDER.length : at;
  };
  const successors = (cell) => (graph.getOutgoingEdges(cell) || [])
    .filter((edge) => edge.getTargetCell()).sort((a, b) => rank(a) - rank(b)).map((edge) => edge.getTargetCell());
  const predecessors = (cell) => (graph.getIncomingEdges(cell) || [])
    .map((edge) => edge.getSourceCell()).filter(Boolean);

  /** Every step, in the order a reader follows the flow: depth first from the start, each
   * step's edges in port order; steps nothing reaches come last, top to bottom. */
  function flowOrder() {
    const nodes = graph.getNodes();
    const seen = new Set();
    const order = [];
    const visit = (start) => {
      const stack = [start];
      while (stack.length) {
        const cell = stack.pop();
        if (seen.has(cell.id)) continue;
        seen.add(cell.id);
        order.push(cell);
        stack.push(...successors(cell).reverse());
      }
    };
    const roots = nodes.filter((cell) => !predecessors(cell).length);
    const byPlace = (a, b) => a.getPosition().y - b.getPosition().y || a.getPosition().x - b.getPosition().x;
    roots.sort((a, b) => (nodeOf(a).type === "start" ? -1 : nodeOf(b).type === "start" ? 1 : byPlace(a, b)));
    for (const root of roots) visit(root);
    for (const cell of [...nodes].sort(byPlace)) visit(cell);
    return order;
  }

  function makeCurrent(cell) {
    if (current && current !== cell) viewOf(current)?.setAttribute("tabindex", "-1");
    current = cell;
    const view = viewOf(cell);
    if (!view) return null;
    const node = nodeOf(cell);
    view.setAttribute("tabindex", "0");
    view.setAttribute("role", "button");
    view.setAttribute("aria-label", `${typeInfo(node.type).title}: ${node.label || node.id}`);
    return view;
  }

  /** Focus a step: it becomes the selection, and is panned into view. */
  function focusStep(cell) {
    if (!cell || !graph.hasCell(cell)) return;
    const view = makeCurrent(cell);
    editor.keepInView(cell);
    if (graph.getSelectedCells().length !== 1 || !graph.isSelected(cell)) graph.resetSelection(cell);
    view?.focus({ preventScroll: true });
  }
  editor.focusStep = focusStep;

  /** The canvas's one Tab stop: the selected step, else the first in flow order. */
  function resetTabStop() {
    if (current && graph.hasCell(current)) { makeCurrent(current); return; }
    const first = flowOrder()[0];
    if (first) makeCurrent(first);
  }
  editor.resetTabStop = resetTabStop;

  const focusedCell = (target) => {
    const view = target?.closest?.(".x6-node");
    return view ? graph.getCellById(view.getAttribute("data-cell-id")) : null;
  };

  function beside(cell, direction) {
    const parent = cameFrom.get(cell.id) || predecessors(cell)[0];
    const siblings = parent ? successors(parent) : [];
    if (siblings.length > 1) {
      siblings.sort((a, b) => a.getPosition().y - b.getPosition().y);
      return siblings[siblings.indexOf(cell) + direction] || null;
    }
    // no siblings: the nearest step straight above or below
    const here = cell.getBBox().getCenter();
    let best = null;
    for (const other of graph.getNodes()) {
      const there = other.getBBox().getCenter();
      const dy = (there.y - here.y) * direction;
      if (other === cell || dy <= 0) continue;
      const score = dy + Math.abs(there.x - here.x) * 2;
      if (!best || score < best.score) best = { cell: other, score };
    }
    return best?.cell || null;
  }

  const canvas = graph.container;
  canvas.addEventListener("keydown", (event) => {
    const cell = focusedCell(event.target);
    if (!cell || event.altKey || event.ctrlKey || event.metaKey) return;
    let next = null;
    if (event.key === "Tab") {
      const order = flowOrder();
      next = order[order.indexOf(cell) + (event.shiftKey ? -1 : 1)] || null;
      if (!next) return; // at either end Tab leaves the canvas
    } else if (event.key === "ArrowRight") {
      next = successors(cell)[0] || null;
      if (next) cameFrom.set(next.id, cell);
    } else if (event.key === "ArrowLeft") {
      next = cameFrom.get(cell.id) || predecessors(cell)[0] || null;
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      next = beside(cell, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      editor.openSettings(cell);
      return;
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    if (next) focusStep(next);
  });
  canvas.addEventListener("focusin", (event) => {
    const cell = focusedCell(event.target);
    if (cell && !graph.isSelected(cell)) graph.resetSelection(cell);
  });
  graph.on("node:click", ({ node }) => makeCurrent(node));
  graph.on("cell:removed", ({ cell }) => {
    cameFrom.delete(cell.id);
    if (cell === current) { current = null; resetTabStop(); }
  });
  graph.on("node:added", () => { if (!current) resetTabStop(); });
  editor.onLoaded = () => { current = null; cameFrom = new Map(); resetTabStop(); };
}
