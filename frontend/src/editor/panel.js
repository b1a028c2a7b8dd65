// The config panel: a server-rendered htmx form for the selected node, edge, or the blueprint
// itself. Edits flow back into the graph as the user types; each settled edit is one undo step.
import { api } from "./api.js";
import { nodeOf } from "./convert.js";
import { NODE_ID, readBlueprintForm, readEdgeForm, readNodeForm } from "./forms.js";
import { allowedKinds } from "./rules.js";

const RERENDER_ON = new Set(["api_call", "function", "retry.enabled"]);

function debounce(fn, ms) {
  const timers = new Map();
  return (key, ...args) => {
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => { timers.delete(key); fn(...args); }, ms));
  };
}

function fieldMessage(input, text) {
  const holder = input.closest(".field, .pair")?.querySelector(".field-msg");
  input.setAttribute("aria-invalid", text ? "true" : "false");
  if (holder) holder.textContent = text || "";
}

export function createPanel(editor, element) {
  const base = element.dataset.panelUrl;
  let target = { kind: "blueprint" };

  function values() {
    const readOnly = editor.readOnly ? "1" : "";
    if (target.kind === "node") {
      return { node: JSON.stringify(nodeOf(target.cell)), cell: target.cell.id, read_only: readOnly };
    }
    if (target.kind === "edge") {
      const edge = target.cell;
      return {
        edge: JSON.stringify({ ...editor.edgeJson(edge) }),
        kinds: JSON.stringify(allowedKinds(editor.graph, edge)),
        cell: edge.id,
        read_only: readOnly,
      };
    }
    return { blueprint: JSON.stringify(editor.meta), read_only: readOnly };
  }

  function render() {
    return window.htmx.ajax("POST", `${base}/${target.kind}`, {
      source: element, target: element, swap: "innerHTML", values: values(),
    });
  }

  function show(kind, cell) {
    target = { kind, cell };
    return render();
  }

  function isShowing(cell) {
    return target.cell === cell;
  }

  function afterSwap() {
    const form = element.querySelector("form[data-panel]");
    if (!form) return;
    const cellId = target.cell?.id || "";
    if ((form.dataset.cell || "") !== cellId && target.kind !== "blueprint") return;
    fillProblems(form);
    if (editor.readOnly) form.querySelector("fieldset")?.setAttribute("disabled", "");
  }

  function fillProblems(form) {
    const holder = form.querySelector("[data-problems]");
    if (!holder) return;
    let problems = editor.problems.general();
    if (target.kind === "node") problems = editor.problems.forNode(nodeOf(target.cell).id);
    if (target.kind === "edge") {
      const { source, target: to } = editor.edgeJson(target.cell);
      problems = editor.problems.forEdge(source, to);
    }
    holder.replaceChildren(...problems.map((problem) => {
      const item = document.createElement("li");
      item.textContent = problem.message;
      return item;
    }));
    holder.hidden = problems.length === 0;
  }

  function applyNode(form) {
    const cell = target.cell;
    if (!editor.graph.hasCell(cell)) return;
    const node = nodeOf(cell);
    const next = readNodeForm(form, node);
    const idInput = form.elements.namedItem("id");
    if (idInput) {
      const wanted = idInput.value.trim();
      let problem = "";
      if (wanted !== node.id) {
        if (!NODE_ID.test(wanted)) problem = "Letters, digits, _ and -; start with a letter or _";
        else if (editor.findNode(wanted)) problem = `Another step is already called “${wanted}”`;
        else next.id = wanted;
      }
      fieldMessage(idInput, problem);
    }
    if (JSON.stringify(next) !== JSON.stringify(node)) {
      cell.setData({ node: next }, { overwrite: true, fromPanel: true });
    }
  }

  function applyEdge(form) {
    const edge = target.cell;
    if (!editor.graph.hasCell(edge)) return;
    const { kind, label } = readEdgeForm(form);
    if (!allowedKinds(editor.graph, edge).includes(kind)) return;
    editor.setEdgeKind(edge, kind, label);
  }

  function applyBlueprint(form) {
    const { meta, problems } = readBlueprintForm(form, editor.meta);
    for (const name of ["input_schema", "sample_input"]) {
      const input = form.elements.namedItem(name);
      if (input) fieldMessage(input, problems[name] || "");
    }
    editor.setMeta(meta);
  }

  function apply(form) {
    if (editor.readOnly || !form.isConnected) return;
    if (form.dataset.panel === "node" && target.kind === "node") applyNode(form);
    if (form.dataset.panel === "edge" && target.kind === "edge") applyEdge(form);
    if (form.dataset.panel === "blueprint" && target.kind === "blueprint") applyBlueprint(form);
  }

  const later = debounce(apply, 250);
  const checkLater = debounce(async (input) => {
    const expression = input.value.trim();
    if (!expression) return fieldMessage(input, "");
    const result = await api.checkExpression(expression, input.dataset.check);
    if (result.status === 404) return;
    if (input.value.trim() === expression) fieldMessage(input, result.data?.ok === false ? result.data.error : "");
  }, 350);

  element.addEventListener("input", (event) => {
    const form = event.target.closest("form[data-panel]");
    if (!form) return;
    later("form", form);
    if (event.target.dataset.check) checkLater(event.target, event.target);
  });
  element.addEventListener("change", (event) => {
    const form = event.target.closest("form[data-panel]");
    if (!form) return;
    apply(form);
    if (RERENDER_ON.has(event.target.name)) render();
  });
  element.addEventListener("submit", (event) => event.preventDefault());
  element.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove-pair]");
    if (remove) {
      const form = remove.closest("form");
      remove.closest(".pair")?.remove();
      if (form) apply(form);
    }
    if (event.target.closest("[data-action=delete]")) editor.deleteSelection();
    if (event.target.closest("[data-action=layout]")) editor.autoLayout();
  });
  element.addEventListener("htmx:after:swap", afterSwap);
  function refreshProblems() {
    const form = element.querySelector("form[data-panel]");
    if (form) fillProblems(form);
  }
  return { show, render, isShowing, refreshProblems, get target() { return target; } };
}
