// Canvas behaviour that is pure view: selection rings, edge tools, the problem tooltip.
import { nodeOf } from "./convert.js";
import { stepName } from "./names.js";

const EDGE_TOOLS = [
  { name: "target-arrowhead", args: { attrs: { fill: "#6366f1", stroke: "#fff", "stroke-width": 1.5 } } },
  { name: "button-remove", args: { distance: -34 } },
];

export function showSelection(graph, { added, removed }) {
  for (const cell of removed) {
    if (!graph.hasCell(cell)) continue;
    if (cell.isNode()) cell.setAttrs({ ring: { stroke: "none" } });
    else { cell.setAttrs({ line: { strokeWidth: 1.6 } }); cell.removeTools(); }
  }
  for (const cell of added) {
    if (cell.isNode()) cell.setAttrs({ ring: { stroke: "#6366f1" } });
    else {
      cell.setAttrs({ line: { strokeWidth: 2.6 } });
      cell.addTools(EDGE_TOOLS);
    }
  }
}

/**
 * The problems of the step under the mouse, under its name. It follows the problems as they
 * change ("problems:shown", after each validation or save) while the mouse stays: fixed ones
 * drop out, and it hides when none is left; the next hover reads them afresh.
 */
export function problemTooltip(editor, tip) {
  let hovered = null;  // { cell, x, y } while the mouse is over a step

  function render() {
    const problems = hovered && editor.graph.hasCell(hovered.cell)
      ? editor.problems.forNode(nodeOf(hovered.cell).id) : [];
    if (!problems.length) { tip.hidden = true; return; }
    const head = document.createElement("div");
    head.className = "tip-head";
    head.append(...stepName(editor, nodeOf(hovered.cell).id));
    tip.replaceChildren(head, ...problems.map((problem) => {
      const line = document.createElement("div");
      line.textContent = problem.message;
      return line;
    }));
    tip.style.left = `${hovered.x + 14}px`;
    tip.style.top = `${hovered.y + 14}px`;
    tip.hidden = false;
  }

  editor.graph.on("node:mouseenter", ({ node, e }) => {
    hovered = { cell: node, x: e.clientX, y: e.clientY };
    render();
  });
  editor.graph.on("node:mouseleave", () => { hovered = null; tip.hidden = true; });
  editor.graph.on("node:removed", ({ node }) => { if (hovered?.cell === node) { hovered = null; tip.hidden = true; } });
  editor.graph.on("problems:shown", render);
}
