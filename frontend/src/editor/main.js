// Entry point of the editor island: /blueprints/{id} mounts it on #editor.
import { createClipboard } from "./clipboard.js";
import { loadCodeFields } from "./code/load.js";
import { createCoverage } from "./coverage.js";
import { createEditor } from "./editor.js";
import { createInFlight } from "./inflight.js";
import { bindKeyNav } from "./keynav.js";
import { bindKeys } from "./keys.js";
import { createPanes } from "./panes.js";
import { setCatalogue } from "./nodetypes.js";
import { createReplay } from "./replay.js";
import { routeAround, routing } from "./shapes.js";
import { createTestRun } from "./testrun.js";
import { bindToolbar } from "./toolbar.js";
import { createVersions } from "./versions.js";

function boot() {
  const root = document.getElementById("editor");
  if (!root) return;
  const started = performance.now();
  const data = JSON.parse(document.getElementById("blueprint-data").textContent);
  setCatalogue(data.catalogue);
  routing.around = false;  // until the first drawing is on screen
  const editor = createEditor(root, data);
  editor.panes = createPanes(editor, root);
  bindKeyNav(editor);
  editor.load(data.blueprint);
  editor.savedJson = JSON.stringify(editor.toDoc());
  editor.problems.show(data.errors || []);
  editor.clipboard = createClipboard(editor);
  editor.versions = createVersions(editor, root);
  editor.testRun = createTestRun(editor, root);
  editor.replay = createReplay(editor, root);
  editor.coverage = createCoverage(editor, root);
  editor.inFlight = createInFlight(editor, root);
  bindToolbar(editor, root);
  bindKeys(editor);
  editor.changed();
  window.addEventListener("beforeunload", (event) => {
    if (!editor.readOnly && editor.isDirty()) event.preventDefault();
  });
  window.waybillEditor = editor;
  editor.bootMs = performance.now() - started;
  whenDrawn(editor, () => {
    editor.renderedMs = performance.now() - started;
    editor.drawnAt = performance.now();  // since navigation start: the first render, as a user sees it
    root.dataset.ready = "true";
    routeAround(editor.graph);
    loadCodeFields().catch(() => {});  // ready before the first step's settings open
  });
}

// "Ready" once every step is on the canvas and that frame has been painted: the frame after
// it has begun (a frame's animation callbacks run before its paint, so: two frames on).
function whenDrawn(editor, done) {
  const canvas = document.getElementById("canvas");
  const wanted = editor.graph.getNodes().length;
  const check = () => {
    if (canvas.querySelectorAll(".x6-node").length >= wanted) requestAnimationFrame(() => setTimeout(done, 0));
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
