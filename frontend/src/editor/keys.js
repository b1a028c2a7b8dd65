// Keyboard shortcuts. The X6 keyboard plugin ignores keys typed into inputs; save is bound on
// the document so that it works while a field has the focus.

export function bindKeys(editor) {
  const { graph } = editor;
  const guard = (fn) => () => { if (!editor.readOnly) fn(); return false; };
  graph.bindKey(["meta+z", "ctrl+z"], guard(() => graph.undo()));
  graph.bindKey(["meta+shift+z", "ctrl+shift+z", "ctrl+y"], guard(() => graph.redo()));
  graph.bindKey(["delete", "backspace"], guard(() => editor.deleteSelection()));
  graph.bindKey(["meta+a", "ctrl+a"], () => { graph.select(graph.getCells()); return false; });
  graph.bindKey(["meta+c", "ctrl+c"], () => !editor.clipboard.copy());
  graph.bindKey(["meta+v", "ctrl+v"], guard(() => editor.clipboard.paste()));
  graph.bindKey(["meta+d", "ctrl+d"], guard(() => editor.clipboard.copy() && editor.clipboard.paste()));
  graph.bindKey("escape", () => { graph.cleanSelection(); return false; });
  graph.bindKey(["shift+1"], () => { editor.fit(); return false; });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      editor.save();
    }
  });
}
