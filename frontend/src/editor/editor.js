// The editor: one object that owns the graph and the draft's metadata, and that the panel,
// palette, problems tray and toolbar talk to.
import { api, describeFailure } from "./api.js";
import { problemTooltip, showSelection } from "./canvas.js";
import { docToCells, graphToDoc, nodeOf, splitDoc } from "./convert.js";
import { bindConnecting } from "./connect.js";
import { createGraph, MIN_SCALE } from "./graph.js";
import { autoLayout } from "./layout.js";
import { createPalette } from "./palette.js";
import { createPanel } from "./panel.js";
import { createProblems } from "./problems.js";
import { fanOutKind, portFor } from "./nodetypes.js";
import { createPicker } from "./picker.js";
import { fanOutCount } from "./rules.js";
import { edgeAppearance, nodeAttrs, NODE_HEIGHT, NODE_WIDTH, nodeCell, routeAround, routing } from "./shapes.js";
import { toast } from "./toast.js";

const FIELD_NAMES = { input_schema: "input schema", sample_input: "sample input" };

// Look derived from data; undo/redo restore data only, so the look is re-derived on change.
const FRESH_NODE = { ring: { stroke: "none" }, body: { stroke: "#dbe1ea", strokeWidth: 1.2 }, badge: { display: "none" } };

function showEdgeKind(edge) {
  const { kind = "next", label } = edge.getData() || {};
  const look = edgeAppearance(kind, label);
  edge.setAttrs(look.attrs);
  edge.setLabels(look.labels);
  // how the edge is routed follows from its kind, as its colour does: not an edit of its own
  edge.setRouter(look.router, { silentHistory: true });
  edge.setConnector(look.connector, { silentHistory: true });
}

export function createEditor(root, boot) {
  const $ = (selector) => root.querySelector(selector);
  const editor = {
    meta: {},
    apiCalls: Object.fromEntries((boot.api_calls || []).map((call) => [call.id, call])),
    readOnly: false,
    savedJson: "",
    // JSON fields of the blueprint panel that are wrong: {name: {raw, message, from}}, `from`
    // "form" (not valid JSON: nothing to save, so saving is refused) or "server" (a 422).
    fieldErrors: {},
  };
  let index = null;

  editor.graph = createGraph({
    container: $("#canvas"),
    isReadOnly: () => editor.readOnly,
    onRefused: (reason, cell) => editor.noteRefusal(reason, cell),
    onDrop: (edge) => editor.dropEdge(edge),
  });
  const graph = editor.graph;

  editor.findNode = (id) => {
    if (!index) index = new Map(graph.getNodes().map((cell) => [nodeOf(cell).id, cell]));
    return index.get(id) || null;
  };
  editor.findEdge = (source, target) => {
    const from = editor.findNode(source);
    const to = editor.findNode(target);
    if (!from || !to) return null;
    return graph.getOutgoingEdges(from)?.find((edge) => edge.getTargetCell() === to) || null;
  };
  editor.edgeJson = (edge) => ({
    source: nodeOf(edge.getSourceCell()).id,
    target: nodeOf(edge.getTargetCell()).id,
    source_type: nodeOf(edge.getSourceCell()).type,
    kind: edge.getData()?.kind || "next",
    label: edge.getData()?.label || "",
    source_label: nodeOf(edge.getSourceCell()).label || "",
    target_label: nodeOf(edge.getTargetCell()).label || "",
  });
  editor.toDoc = () => graphToDoc(graph, editor.meta);
  editor.forgetIndex = () => { index = null; };

  editor.problems = createProblems(editor, { list: $("#problem-list"), counter: $("#problem-count") });
  editor.panel = createPanel(editor, $("#panel"));
  editor.palette = createPalette(editor, $("#palette"));
  problemTooltip(editor, document.getElementById("hover-tip"));

  // ---- loading -------------------------------------------------------------------------------
  // The draft's settings as last edited: the field errors belong to them, and survive a
  // reload of the same draft (back from viewing a version), not another one (a restore).
  let draftMetaJson = "";
  editor.load = (doc) => {
    const { meta } = splitDoc(doc);
    if (!editor.readOnly) {
      if (JSON.stringify(meta) !== draftMetaJson) editor.fieldErrors = {};
      draftMetaJson = JSON.stringify(meta);
    }
    editor.meta = meta;
    const { cells, missing } = docToCells(doc, editor.apiCalls);
    graph.disableHistory();
    graph.fromJSON({ cells });
    index = null;
    if (missing.length) autoLayout(graph);
    graph.enableHistory();
    graph.cleanHistory();
    editor.palette.refresh();
    editor.fit();
    editor.onLoaded?.();
    graph.trigger("blueprint:loaded");  // new cells: overlays draw themselves again
    editor.panel.show("blueprint");
    $("#blueprint-name").textContent = meta.name || meta.id;
  };

  // The whole blueprint in view, however far out that zooms (never in beyond 100%).
  editor.fit = () => {
    if (!graph.getNodes().length) { graph.zoomTo(1); return; }
    graph.zoomToFit({ padding: 40, maxScale: 1, minScale: MIN_SCALE });
  };

  // Fit again once the canvas has its new size (a tray docked or a pane folded).
  editor.refit = () => {
    let done = false;
    const once = () => { if (!done) { done = true; editor.fit(); } };
    graph.once("resize", once);
    setTimeout(once, 120);
  };

  /** Pan just enough that `cell` is inside the canvas (a step added or focused off-screen). */
  editor.keepInView = (cell) => {
    const area = graph.getGraphArea();
    if (!area.containsRect(cell.getBBox())) graph.centerCell(cell);
  };

  // ---- edits ---------------------------------------------------------------------------------
  editor.setMeta = (meta) => {
    if (JSON.stringify(meta) === JSON.stringify(editor.meta)) return;
    editor.meta = meta;
    draftMetaJson = JSON.stringify(meta);
    $("#blueprint-name").textContent = meta.name || meta.id;
    editor.changed();
  };

  editor.setEdgeKind = (edge, kind, label = edge.getData()?.label || "") => {
    const data = label ? { kind, label } : { kind };
    if (JSON.stringify(data) === JSON.stringify(edge.getData() || {})) return;
    graph.startBatch("edge-kind");
    const port = portFor(nodeOf(edge.getSourceCell()).type, kind);
    if (edge.getSourcePortId() !== port) edge.setSource({ cell: edge.getSourceCellId(), port });
    edge.setData(data, { overwrite: true });
    graph.stopBatch("edge-kind");
  };

  // A clicked palette item lands in the middle of the view, moved down until it overlaps nothing.
  editor.addNodeInView = (node) => {
    const area = graph.getGraphArea();
    const spot = { x: area.x + area.width / 2 - NODE_WIDTH / 2, y: area.y + area.height / 3 - NODE_HEIGHT / 2 };
    const taken = graph.getNodes().map((cell) => cell.getBBox().inflate(16));
    const overlaps = () => taken.some((box) => box.isIntersectWithRect({ ...spot, width: NODE_WIDTH, height: NODE_HEIGHT }));
    for (let tries = 0; tries < 30 && overlaps(); tries += 1) spot.y += NODE_HEIGHT + 24;
    const cell = graph.addNode(nodeCell(node, spot, editor.apiCalls));
    graph.resetSelection(cell);
    return cell;
  };

  // An undo replays its moves one by one: edges find their way around steps once, after it.
  const replaying = (fn) => () => {
    if (editor.readOnly) return;
    const around = routing.around;
    routing.around = false;
    fn();
    if (around) routeAround(graph);
  };
  editor.undo = replaying(() => graph.undo());
  editor.redo = replaying(() => graph.redo());

  editor.deleteSelection = () => {
    if (editor.readOnly) return;
    const cells = graph.getSelectedCells();
    if (!cells.length) return;
    graph.startBatch("delete");
    graph.removeCells(cells);
    graph.stopBatch("delete");
  };

  editor.autoLayout = () => {
    if (editor.readOnly) return 0;
    const started = performance.now();
    autoLayout(graph);
    editor.fit();
    return performance.now() - started;
  };

  /** Select a step and put the cursor in its settings (Enter on a focused step). */
  editor.openSettings = async (cell) => {
    graph.resetSelection(cell);
    editor.panes.openSide();
    await editor.panel.show("node", cell);
    $("#panel form[data-panel] fieldset").querySelector("input:not([type=hidden]), select, textarea, [contenteditable=true]")?.focus();
  };

  editor.reveal = (problem) => {
    const cell = problem.node ? editor.findNode(problem.node)
      : problem.edge ? editor.findEdge(problem.edge[0], problem.edge[1]) : null;
    if (!cell) { graph.cleanSelection(); return; }
    graph.resetSelection(cell);
    graph.centerCell(cell);
  };

  // ---- change tracking, validation, save -------------------------------------------------------
  const status = $("#save-status");
  function setStatus(text, tone) {
    status.textContent = text;
    status.title = text;
    status.dataset.tone = tone;
  }
  // Fields that could not be read hold text that is not in the draft: unsaved, too.
  const unreadable = () => Object.entries(editor.fieldErrors).filter(([, error]) => error.from === "form");
  editor.isDirty = () => unreadable().length > 0 || JSON.stringify(editor.toDoc()) !== editor.savedJson;
  editor.setFieldErrors = (errors) => {
    if (JSON.stringify(errors) === JSON.stringify(editor.fieldErrors)) return;
    editor.fieldErrors = errors;
    refreshState();
  };
  function refreshState() {
    $("[data-action=undo]").disabled = editor.readOnly || !graph.canUndo();
    $("[data-action=redo]").disabled = editor.readOnly || !graph.canRedo();
    if (editor.readOnly) return;
    const dirty = editor.isDirty();
    setStatus(dirty ? "Unsaved changes" : "All changes saved", dirty ? "dirty" : "saved");
  }

  let validateTimer = null;
  let validateSeq = 0;
  editor.validate = async () => {
    const seq = ++validateSeq;
    const result = await api.validate(editor.toDoc());
    if (seq !== validateSeq) return;
    editor.validating = false;
    if (result.ok) editor.problems.show(result.data.errors);
    else editor.problems.show([{ node: null, edge: null, code: "shape", message: describeFailure(result) }]);
    editor.panel.refreshProblems();
  };
  editor.changed = () => {
    index = null;
    editor.palette.refresh();
    refreshState();
    clearTimeout(validateTimer);
    editor.validating = true;
    validateTimer = setTimeout(editor.validate, 500);
  };

  editor.save = async () => {
    if (editor.readOnly) return false;
    editor.panel.flush();
    const [wrong] = unreadable();
    if (wrong) {  // saving now would drop what the field holds: refuse until it is fixed
      const [name, error] = wrong;
      setStatus("Not saved", "error");
      toast(`Not saved: fix the ${FIELD_NAMES[name] || name} first (${error.message})`, "error", 6000);
      editor.panel.revealField(name);
      return false;
    }
    const doc = editor.toDoc();
    setStatus("Saving…", "busy");
    const result = await api.save(doc);
    if (!result.ok) {
      setStatus("Not saved", "error");
      toast(`Could not save: ${describeFailure(result)}`, "error", 6000);
      const refused = (result.data?.errors || []).find((error) => error.code === "input_schema");
      if (result.status === 422 && refused) editor.panel.showFieldError("input_schema", refused.message);
      return false;
    }
    editor.fieldErrors = {};  // the server took every field (an unreadable one refuses above)
    editor.panel.refreshFieldErrors();
    editor.savedJson = JSON.stringify(doc);
    editor.problems.show(result.data.errors || []);
    editor.panel.refreshProblems();
    refreshState();
    toast("Draft saved", "ok", 1600);
    return true;
  };

  // Saved first; then the orders in flight on published versions are shown, if any (inflight.js).
  editor.publish = async () => {
    if (editor.readOnly) return;
    if (editor.isDirty() && !(await editor.save())) return;
    if (editor.inFlight) await editor.inFlight.publish();
    else await editor.publishNow();
  };

  /** Publish the saved draft: the new version's number, or null (told in a toast). */
  editor.publishNow = async () => {
    const result = await api.publish(editor.meta.id);
    if (result.ok) {
      $("#version-badge").textContent = `v${result.data.version}`;
      $("#version-badge").hidden = false;
      toast(`Published version ${result.data.version}`, "ok");
      return result.data.version;
    }
    if (Array.isArray(result.data?.errors) && result.data.errors.length) {
      editor.problems.show(result.data.errors);
      toast(`Fix ${result.data.errors.length} problem(s) before publishing`, "error", 5000);
    } else {
      toast(`Could not publish: ${describeFailure(result)}`, "error", 6000);
    }
    return null;
  };

  // ---- graph events ----------------------------------------------------------------------------
  // A node's text may count its edges (a parallel's "3 branches"): redrawn as they change.
  const showNode = (cell) => cell.setAttrs(nodeAttrs(nodeOf(cell), editor.apiCalls, { fanOut: fanOutCount(graph, cell) }));
  const showSourceOf = (edge) => {
    const source = graph.getCellById(edge.getSourceCellId());
    if (source?.isNode() && fanOutKind(nodeOf(source).type)) showNode(source);
  };
  graph.on("cell:change:data", ({ cell, options }) => {
    index = null;
    if (cell.isNode()) showNode(cell);
    else { showEdgeKind(cell); showSourceOf(cell); }
    if (!options?.fromPanel && editor.panel.isShowing(cell)) editor.panel.render();
  });
  graph.on("cell:added", ({ cell }) => {
    index = null;
    if (cell.isNode()) cell.setAttrs(FRESH_NODE);
    else showSourceOf(cell);
  });
  graph.on("cell:removed", ({ cell }) => {
    index = null;
    if (cell.isEdge()) showSourceOf(cell);
    if (editor.panel.isShowing(cell)) editor.panel.show("blueprint");
  });
  graph.on("edge:change:target", ({ edge }) => showSourceOf(edge));
  graph.on("history:change", () => { if (!editor.loading) editor.changed(); });
  graph.on("history:undo", () => editor.panel.target.cell && editor.panel.render());
  graph.on("history:redo", () => editor.panel.target.cell && editor.panel.render());
  graph.on("selection:changed", (args) => {
    showSelection(graph, args);
    const cells = graph.getSelectedCells();
    if (cells.length !== 1) editor.panel.show("blueprint");
    else editor.panel.show(cells[0].isNode() ? "node" : "edge", cells[0]);
  });
  editor.picker = createPicker($("#step-picker"));
  bindConnecting(editor);

  return editor;
}
