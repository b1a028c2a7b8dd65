// An expression field as a code editor: the server-rendered <textarea> or <input> stays in the
// form (hidden) as the value's holder, so that reading the form (forms.js, FormData) and the
// panel's `input`/`change` handlers work as before; a CodeMirror view is drawn after it and
// keeps it in sync both ways (setting `.value` on the element updates the view).
import { acceptCompletion, autocompletion, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { setDiagnostics } from "@codemirror/lint";
import { Annotation, EditorState, Prec } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { completionSource } from "./complete.js";
import { expressionHighlight, expressionLanguage } from "./language.js";

const views = new Map();  // source element → its view
const fromSource = Annotation.define();  // a change made by setting the element's value

// One line stays one line: Enter does nothing of its own (it accepts a completion), and
// pasted line breaks become spaces.
const oneLine = [
  EditorState.transactionFilter.of((tr) => {
    if (!tr.docChanged || tr.newDoc.lines === 1) return tr;
    const text = tr.newDoc.toString().replace(/\s*[\r\n]+\s*/g, " ");
    return [tr, { changes: { from: 0, to: tr.newDoc.length, insert: text }, sequential: true }];
  }),
  Prec.high(keymap.of([{ key: "Enter", run: () => true }])),
];

function nativeValue(element) {
  return Object.getOwnPropertyDescriptor(Object.getPrototypeOf(element), "value");
}

function fire(element, type) {
  element.dispatchEvent(new Event(type, { bubbles: true }));
}

function extensionsFor(source, { multiline, readOnly, scope }) {
  const label = source.getAttribute("aria-label")
    || source.closest(".field")?.querySelector(".label")?.firstChild?.textContent?.trim() || "Expression";
  let focusedValue = null;
  return [
    expressionLanguage,
    expressionHighlight,
    history(),
    autocompletion({
      override: [completionSource(scope)],
      activateOnTypingDelay: 0,  // the source answers locally: no reason to wait
      icons: false,
      maxRenderedOptions: 60,
    }),
    Prec.highest(keymap.of([{ key: "Tab", run: acceptCompletion }])),
    keymap.of([...completionKeymap, ...historyKeymap, ...defaultKeymap]),
    multiline ? EditorView.lineWrapping : [oneLine, EditorView.lineWrapping],
    source.placeholder ? placeholder(source.placeholder) : [],
    EditorState.readOnly.of(readOnly),
    EditorView.editable.of(!readOnly),
    EditorView.contentAttributes.of({
      "aria-label": label, "aria-multiline": multiline ? "true" : "false", spellcheck: "false",
      "data-field": source.name,
    }),
    EditorView.updateListener.of((update) => {
      if (!update.docChanged || update.transactions.every((tr) => tr.annotation(fromSource))) return;
      nativeValue(source).set.call(source, update.state.doc.toString());
      fire(source, "input");
    }),
    EditorView.domEventHandlers({
      focus: () => { focusedValue = source.value; },
      blur: () => { if (focusedValue !== null && focusedValue !== source.value) fire(source, "change"); focusedValue = null; },
    }),
  ];
}

/** Draw `source` (an expression textarea or input) as a CodeMirror view; its view. */
export function upgradeField(source, options) {
  if (views.has(source)) return views.get(source);
  const view = new EditorView({
    state: EditorState.create({ doc: source.value, extensions: extensionsFor(source, options) }),
  });
  view.dom.classList.add(options.multiline ? "cm-multi" : "cm-single");
  // the view's own DOM input events are not the form's: the source's are fired instead
  view.dom.addEventListener("input", (event) => event.stopPropagation());
  source.after(view.dom);
  source.hidden = true;
  source.classList.add("cm-source");
  const native = nativeValue(source);
  Object.defineProperty(source, "value", {
    configurable: true,
    get: () => native.get.call(source),
    set: (text) => {
      native.set.call(source, text);
      const now = view.state.doc.toString();
      if (now !== text) view.dispatch({ changes: { from: 0, to: now.length, insert: text }, annotations: fromSource.of(true) });
    },
  });
  source.focus = () => view.focus();
  views.set(source, view);
  return view;
}

/** Every expression field under `root` not drawn yet; views of fields gone from the page are
 * destroyed first. `scopeFor(source)` is the completion scope getter of a field. */
export function upgradeFields(root, { readOnly, scopeFor }) {
  for (const [source, view] of views) {
    if (!source.isConnected) { view.destroy(); views.delete(source); }
  }
  for (const source of root.querySelectorAll("[data-check=expression]")) {
    if (views.has(source)) continue;
    const multiline = source.tagName === "TEXTAREA" && source.hasAttribute("data-multiline");
    upgradeField(source, { multiline, readOnly, scope: scopeFor(source) });
  }
}

export function viewOf(source) {
  return views.get(source) || null;
}

/** Show the server's verdict on the field's text as a diagnostic (the line it names, if any). */
export function showDiagnostic(source, message) {
  const view = views.get(source);
  if (!view) return;
  const { doc } = view.state;
  let diagnostics = [];
  if (message && doc.length) {
    const lineNo = Number(/line (\d+)/.exec(message)?.[1] || 0);
    const line = lineNo >= 1 && lineNo <= doc.lines ? doc.line(lineNo) : null;
    const from = line ? line.from : 0;
    const to = line && line.to > line.from ? line.to : doc.length;
    diagnostics = [{ from, to, severity: "error", message }];
  }
  view.dispatch(setDiagnostics(view.state, diagnostics));
}
