// Canvas behaviour that is pure view: selection rings, edge tools, the problem tooltip.
import { nodeOf } from "./convert.js";

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

export function problemTooltip(editor, tip) {
  editor.graph.on("node:mouseenter", ({ node, e }) => {
    const problems = editor.problems.forNode(nodeOf(node).id);
    if (!problems.length) return;
    tip.replaceChildren(...problems.map((problem) => {
      const line = document.createElement("div");
      line.textContent = problem.message;
      return line;
    }));
    tip.style.left = `${e.clientX + 14}px`;
    tip.style.top = `${e.clientY + 14}px`;
    tip.hidden = false;
  });
  editor.graph.on("node:mouseleave", () => { tip.hidden = true; });
}
