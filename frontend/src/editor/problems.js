// Validation problems pinned on the canvas (a red badge with a count, a red outline) and listed
// in the problems tray, each under the step it is about (its label, then its id, small). Built
// with textContent only: messages may quote user-written text. Every change is announced on
// the graph as "problems:shown", so that what shows them elsewhere (the tooltip) follows.
import { stepName } from "./names.js";
import { edgeAppearance } from "./shapes.js";

const NODE_MARK = { body: { stroke: "#dc2626", strokeWidth: 1.8 } };
const NODE_CLEAR = { body: { stroke: "#dbe1ea", strokeWidth: 1.2 }, badge: { display: "none" } };

export function createProblems(editor, { list, counter }) {
  let marked = [];
  let current = [];

  function clearMarks() {
    for (const cell of marked) {
      if (!editor.graph.hasCell(cell)) continue;
      if (cell.isNode()) cell.setAttrs(NODE_CLEAR);
      else cell.setAttrs(edgeAppearance(cell.getData()?.kind || "next").attrs);
    }
    marked = [];
  }

  function pin(byNode, byEdge) {
    for (const [id, problems] of byNode) {
      const cell = editor.findNode(id);
      if (!cell) continue;
      cell.setAttrs({ ...NODE_MARK, badge: { display: "block" }, badgeText: { text: String(problems.length) } });
      marked.push(cell);
    }
    for (const [key] of byEdge) {
      const [source, target] = key.split("\u0000");
      const edge = editor.findEdge(source, target);
      if (!edge) continue;
      edge.setAttrs({ line: { stroke: "#dc2626", strokeWidth: 2.4 } });
      marked.push(edge);
    }
  }

  function renderList(errors) {
    list.replaceChildren();
    counter.dataset.count = String(errors.length);
    counter.textContent = errors.length ? `${errors.length} problem${errors.length > 1 ? "s" : ""}` : "Valid";
    counter.classList.toggle("chip-bad", errors.length > 0);
    counter.classList.toggle("chip-good", errors.length === 0);
    for (const problem of errors) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "problem";
      const where = document.createElement("span");
      where.className = "problem-where";
      if (problem.node) where.append(...stepName(editor, problem.node));
      else if (problem.edge) where.append(...stepName(editor, problem.edge[0]), " → ", ...stepName(editor, problem.edge[1]));
      else where.textContent = "blueprint";
      const message = document.createElement("span");
      message.className = "problem-message";
      message.textContent = problem.message;
      button.append(where, message);
      button.addEventListener("click", () => editor.reveal(problem));
      item.append(button);
      list.append(item);
    }
  }

  function show(errors) {
    current = errors || [];
    const byNode = new Map();
    const byEdge = new Map();
    for (const problem of current) {
      if (problem.node) byNode.set(problem.node, [...(byNode.get(problem.node) || []), problem]);
      else if (problem.edge) byEdge.set(problem.edge.join("\u0000"), problem);
    }
    clearMarks();
    pin(byNode, byEdge);
    renderList(current);
    editor.graph.trigger("problems:shown", { problems: current });
  }

  const forNode = (id) => current.filter((p) => p.node === id);
  const forEdge = (source, target) => current.filter((p) => p.edge && p.edge[0] === source && p.edge[1] === target);
  const general = () => current.filter((p) => !p.node && !p.edge);
  return { show, forNode, forEdge, general, get all() { return current; } };
}
