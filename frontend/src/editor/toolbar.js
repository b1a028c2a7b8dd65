// The editor's toolbar buttons, wired by their data-action.

export function bindToolbar(editor, root) {
  const { graph } = editor;
  const actions = {
    undo: () => editor.undo(),
    redo: () => editor.redo(),
    layout: () => editor.autoLayout(),
    fit: () => editor.fit(),
    "zoom-in": () => graph.zoom(0.15),
    "zoom-out": () => graph.zoom(-0.15),
    save: () => editor.save(),
    publish: () => editor.publish(),
    versions: () => editor.versions.toggle(),
    "test-run": () => editor.testRun.open(),
    replay: () => editor.replay.toggle(),
    coverage: () => editor.coverage.toggle(),
    "back-to-draft": () => editor.versions.backToDraft(),
    "restore-version": () => editor.versions.restore(),
  };
  root.querySelector(".editor-toolbar").addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (button && actions[button.dataset.action]) actions[button.dataset.action]();
  });
  root.querySelector("#version-banner").addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (button && actions[button.dataset.action]) actions[button.dataset.action]();
  });
}
