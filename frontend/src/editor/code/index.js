// The config panel's code fields: when a node's panel renders, its expression fields become
// CodeMirror views completing from the scope the server sent for that node and field (fetched
// then, once per field); an API call's panel shows its response tree, whose fields are kept by
// a click; a test run's saved values show beside the save rows.
import { nodeOf } from "../convert.js";
import { loadCodeFields, showDiagnostic } from "./load.js";
import { keepName, showResponseTree, showWas } from "./response.js";
import { createScopes, scopeField } from "./scope.js";

const FINAL = new Set(["completed", "failed", "cancelled"]);

export function createCodeFields(editor, element) {
  const scopes = createScopes(editor);
  let shown = null;  // {form, cell, nodeId, entries: {field: scope entry}}
  let finishedRun = "";

  const showing = () => (shown?.form.isConnected ? shown : null);

  function load(fields) {
    const draft = editor.toDoc();
    const json = JSON.stringify(draft);
    for (const field of fields) shown.entries[field] = scopes.load(shown.nodeId, field, draft, json);
  }

  function fillTree() {
    const holder = shown.form.querySelector("[data-response-tree]");
    const entry = shown.entries.save;
    if (!holder || !entry) return;
    const at = shown;
    entry.promise.then(() => { if (showing() === at) showResponseTree(holder, entry.data?.names); });
  }

  function upgrade() {
    const at = shown;
    loadCodeFields().then(({ upgradeFields }) => {
      if (showing() !== at) return;
      upgradeFields(at.form, {
        readOnly: editor.readOnly,
        scopeFor: (source) => () => at.entries[scopeField(source.name)] || null,
      });
      at.form.dataset.codeReady = "true";
    });
  }

  /** A node's panel form was rendered: draw its fields, fetch their scopes. */
  function attach(form, cell) {
    shown = { form, cell, nodeId: nodeOf(cell).id, entries: {} };
    const fields = new Set([...form.querySelectorAll("[data-check=expression]")].map((source) => scopeField(source.name)));
    if (form.querySelector("[data-response-tree]")) fields.add("save");
    load(fields);
    upgrade();
    fillTree();
    if (editor.lastRun) showWas(form, editor.lastRun, shown.nodeId);
  }

  /** Rows added to the shown form (a new key/value pair): draw their fields too. */
  function attachRows() {
    if (!showing()) return;
    upgrade();
    if (editor.lastRun) showWas(shown.form, editor.lastRun, shown.nodeId);
  }

  /** The latest state of a test run (testrun.js): "was:" values, and once it is over the
   * scopes are fetched again, since they list the fields of the responses it recorded. */
  function showRun(order) {
    editor.lastRun = order;
    if (FINAL.has(order.state) && finishedRun !== order.order_id) {
      finishedRun = order.order_id;
      scopes.clear();
      if (showing()) { load(Object.keys(shown.entries)); fillTree(); }
    }
    if (showing()) showWas(shown.form, order, shown.nodeId);
  }

  function keep(path) {
    const at = showing();
    if (!at || editor.readOnly || !editor.graph.hasCell(at.cell)) return;
    editor.panel.flush();  // what was typed before the click goes first, as its own step
    const node = nodeOf(at.cell);
    const save = { ...(node.save || {}) };
    const same = Object.keys(save).find((key) => save[key] === path);
    if (same) {
      at.form.querySelector(`[data-pairs=save] .pair-key[value="${CSS.escape(same)}"]`)
        ?.closest(".pair")?.classList.add("pair-flash");
      return;
    }
    const typed = [...at.form.querySelectorAll("[data-pairs=save] .pair-key")].map((key) => key.value.trim());
    const name = keepName(path, new Set([...Object.keys(save), ...typed]));
    at.cell.setData({ node: { ...node, save: { ...save, [name]: path } } }, { overwrite: true });
  }

  element.addEventListener("click", (event) => {
    const field = event.target.closest("[data-keep]");
    if (field) keep(field.dataset.keep);
  });

  return { attach, attachRows, showRun, showDiagnostic };
}
