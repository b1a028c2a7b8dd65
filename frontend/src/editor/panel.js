// The config panel: a server-rendered htmx form for the selected node, edge, or the blueprint
// itself. Edits flow back into the graph as the user types; each settled edit is one undo step.
import { api } from "./api.js";
import { createCodeFields } from "./code/index.js";
import { nodeOf } from "./convert.js";
import { NODE_ID, readBlueprintForm, readEdgeForm, readNodeForm } from "./forms.js";
import { allowedKinds } from "./rules.js";

// Fields whose choice changes what the panel offers (a call's arguments, a child's inputs).
const RERENDER_ON = new Set(["api_call", "function", "blueprint", "retry.enabled"]);
const JSON_FIELDS = ["input_schema", "sample_input"];

function debounce(fn, ms) {
  const timers = new Map();
  const later = (key, ...args) => {
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => { timers.delete(key); fn(...args); }, ms));
  };
  later.cancel = (key) => { clearTimeout(timers.get(key)); timers.delete(key); };
  return later;
}

function fieldMessage(input, text) {
  const holder = input.closest(".field, .pair")?.querySelector(".field-msg");
  input.setAttribute("aria-invalid", text ? "true" : "false");
  if (holder) holder.textContent = text || "";
}

export function createPanel(editor, element) {
  const base = element.dataset.panelUrl;
  let target = { kind: "blueprint" };
  const code = createCodeFields(editor, element);

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

  let focusField = null;

  function afterSwap(event) {
    const added = event.target.closest?.(".add-pair");
    if (added) {
      // a new key/value row arrived: the user types its key next
      const keys = added.closest(".pairs")?.querySelectorAll(".pair-key");
      code.attachRows();
      keys?.[keys.length - 1]?.focus();
      return;
    }
    const form = element.querySelector("form[data-panel]");
    if (!form) return;
    const cellId = target.cell?.id || "";
    if ((form.dataset.cell || "") !== cellId && target.kind !== "blueprint") return;
    fillProblems(form);
    if (editor.readOnly) form.querySelector("fieldset")?.setAttribute("disabled", "");
    if (form.dataset.panel === "node" && target.kind === "node") code.attach(form, target.cell);
    if (!editor.readOnly && form.dataset.panel === "blueprint") {
      showFieldErrors(form, true);
      if (focusField) form.elements.namedItem(focusField)?.focus();
    }
    focusField = null;
  }

  // The JSON fields' errors live in the editor (editor.fieldErrors), so that they, and the
  // text that could not be read, outlive a re-render of the panel. `restore` puts that text
  // back into a freshly rendered form, which shows editor.meta (the last readable value).
  function showFieldErrors(form, restore = false) {
    for (const name of JSON_FIELDS) {
      const input = form.elements.namedItem(name);
      if (!input) continue;
      const error = editor.fieldErrors[name];
      if (restore && error && input.value !== error.raw) input.value = error.raw;
      if (error) input.closest("details")?.setAttribute("open", "");
      fieldMessage(input, error?.message || "");
    }
  }

  function blueprintForm() {
    return target.kind === "blueprint" ? element.querySelector("form[data-panel=blueprint]") : null;
  }

  /** Show the blueprint's settings with `name` focused (its error is shown as it renders). */
  function revealField(name) {
    const form = blueprintForm();
    if (form) {
      showFieldErrors(form);
      form.elements.namedItem(name)?.focus();
      return;
    }
    focusField = name;
    editor.graph.cleanSelection();  // selection:changed shows the blueprint panel
    if (target.kind !== "blueprint") show("blueprint");
  }

  /** An error the server found in a JSON field (its text as the form now shows it). */
  function showFieldError(name, message) {
    const input = blueprintForm()?.elements.namedItem(name);
    const raw = input ? input.value : JSON.stringify(editor.meta[name] ?? {}, null, 2);
    editor.fieldErrors = { ...editor.fieldErrors, [name]: { raw, message, from: "server" } };
    revealField(name);
  }

  function refreshFieldErrors() {
    const form = blueprintForm();
    if (form) showFieldErrors(form);
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
    const errors = {};
    for (const name of JSON_FIELDS) {
      const input = form.elements.namedItem(name);
      if (!input) continue;
      const known = editor.fieldErrors[name];
      if (problems[name]) errors[name] = { raw: input.value, message: problems[name], from: "form" };
      else if (known?.from === "server" && known.raw === input.value) errors[name] = known;
    }
    editor.setFieldErrors(errors);
    showFieldErrors(form);
    editor.setMeta(meta);
  }

  function apply(form) {
    if (editor.readOnly || !form.isConnected) return;
    // a form left behind (a field's blur as the panel turns to another step) is not the target's
    if (form.dataset.cell && form.dataset.cell !== target.cell?.id) return;
    if (form.dataset.panel === "node" && target.kind === "node") applyNode(form);
    if (form.dataset.panel === "edge" && target.kind === "edge") applyEdge(form);
    if (form.dataset.panel === "blueprint" && target.kind === "blueprint") applyBlueprint(form);
  }

  const later = debounce(apply, 250);

  /** Read what the form holds now, without waiting for the typing pause (before a save). */
  function flush() {
    const form = element.querySelector("form[data-panel]");
    later.cancel("form");
    if (form) apply(form);
  }
  const checkLater = debounce(async (input) => {
    const expression = input.value.trim();
    if (!expression) { code.showDiagnostic(input, ""); return fieldMessage(input, ""); }
    const result = await api.checkExpression(expression, input.dataset.check);
    if (result.status === 404) return;
    if (input.value.trim() !== expression) return;
    const message = result.data?.ok === false ? result.data.error : "";
    fieldMessage(input, message);
    code.showDiagnostic(input, message);
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
  return {
    show, render, isShowing, refreshProblems, flush, revealField, showFieldError, refreshFieldErrors,
    showRun: code.showRun,
    get target() { return target; },
  };
}
