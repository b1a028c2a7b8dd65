// Keyboard shortcuts. The X6 keyboard plugin ignores keys typed into inputs; save is bound on
// the document so that it works while a field has the focus.

export function bindKeys(editor) {
  const { graph } = editor;
  const guard = (fn) => () => { if (!editor.readOnly) fn(); return false; };
  graph.bindKey(["meta+z", "ctrl+z"], guard(() => editor.undo()));
  graph.bindKey(["meta+shift+z", "ctrl+shift+z", "ctrl+y"], guard(() => editor.redo()));
  graph.bindKey(["delete", "backspace"], guard(() => editor.deleteSelection()));
  graph.bindKey(["meta+a", "ctrl+a"], () => { graph.select(graph.getCells()); return false; });
  graph.bindKey(["meta+c", "ctrl+c"], () => !editor.clipboard.copy());
  graph.bindKey(["meta+v", "ctrl+v"], guard(() => editor.clipboard.paste()));
  graph.bindKey(["meta+d", "ctrl+d"], guard(() => editor.clipboard.copy() && editor.clipboard.paste()));
  graph.bindKey(["shift+1"], () => { editor.fit(); return false; });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      editor.save();
    }
    if (event.key === "Escape") escape(editor, event);
  });
}

// Escape closes the innermost thing open: an open <dialog> closes itself (the browser does it);
// then the versions menu, then the test-run (or replay) tray; else it clears the selection.
function escape(editor, event) {
  if (event.defaultPrevented || document.querySelector("dialog[open]")) return;
  if (event.target.closest?.(".cm-editor")) return;  // a code field's own Escape (its completion)
  event.preventDefault();
  if (editor.versions.dismiss()) return;
  if (editor.testRun.isOpen()) { editor.testRun.close(); return; }
  if (editor.replay?.isOpen()) { editor.replay.close(); return; }
  editor.graph.cleanSelection();
}
