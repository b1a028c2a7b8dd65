// Entry point of the editor island: /blueprints/{id} mounts it on #editor.
import { createClipboard } from "./clipboard.js";
import { createEditor } from "./editor.js";
import { bindKeyNav } from "./keynav.js";
import { bindKeys } from "./keys.js";
import { createPanes } from "./panes.js";
import { setCatalogue } from "./nodetypes.js";
import { createTestRun } from "./testrun.js";
import { bindToolbar } from "./toolbar.js";
import { createVersions } from "./versions.js";

function boot() {
  const root = document.getElementById("editor");
  if (!root) return;
  const started = performance.now();
  const data = JSON.parse(document.getElementById("blueprint-data").textContent);
  setCatalogue(data.catalogue);
  const editor = createEditor(root, data);
  editor.panes = createPanes(editor, root);
  bindKeyNav(editor);
  editor.load(data.blueprint);
  editor.savedJson = JSON.stringify(editor.toDoc());
  editor.problems.show(data.errors || []);
  editor.clipboard = createClipboard(editor);
  editor.versions = createVersions(editor, root);
  editor.testRun = createTestRun(editor, root);
  bindToolbar(editor, root);
  bindKeys(editor);
  editor.changed();
  window.addEventListener("beforeunload", (event) => {
    if (!editor.readOnly && editor.isDirty()) event.preventDefault();
  });
  window.waybillEditor = editor;
  whenDrawn(editor, () => {
    editor.renderedMs = performance.now() - started;
    root.dataset.ready = "true";
  });
}

// X6 draws cells over several frames; "ready" means every step is on the canvas.
function whenDrawn(editor, done) {
  const canvas = document.getElementById("canvas");
  const wanted = editor.graph.getNodes().length;
  const check = () => {
    if (canvas.querySelectorAll(".x6-node").length >= wanted) done();
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
