// The panes around the canvas: the palette and the settings panel fold away (remembered per
// browser; the palette starts folded on a narrow screen), the map shows on request. The canvas
// fits the blueprint again into whatever room is left.
import { MiniMap } from "@antv/x6";

const KEY = "waybill.editor.panes";
const NARROW = 1200; // px of window width below which the palette starts folded

function remembered() {
  try { return JSON.parse(localStorage.getItem(KEY) || "{}"); } catch { return {}; }
}

export function createPanes(editor, root) {
  const body = root.querySelector(".editor-body");
  const mapBox = root.querySelector("#minimap");
  const mapButton = root.querySelector("[data-action=minimap]");
  const prefs = remembered();
  let minimap = null;

  function set(name, open, { save = true } = {}) {  // save: a user's choice, kept and refitted
    body.dataset[name] = open ? "open" : "folded";
    const button = root.querySelector(`[data-action=toggle-${name}]`);
    const what = name === "palette" ? "steps" : "settings";
    button.setAttribute("aria-expanded", String(open));
    button.title = `${open ? "Fold" : "Show"} the ${what}`;
    button.setAttribute("aria-label", button.title);
    if (!save) return;
    prefs[name] = open;
    try { localStorage.setItem(KEY, JSON.stringify(prefs)); } catch { /* private mode */ }
    editor.refit();
  }
  const isOpen = (name) => body.dataset[name] !== "folded";

  function showMap(show) {
    if (show && !minimap) {  // built on first use: it draws a second copy of the graph
      minimap = new MiniMap({ container: mapBox, width: 200, height: 132, padding: 8 });
      editor.graph.use(minimap);
    }
    mapBox.hidden = !show;
    mapButton.setAttribute("aria-pressed", String(show));
    mapButton.title = show ? "Hide the map" : "Show the map";
    mapButton.setAttribute("aria-label", mapButton.title);
  }

  set("palette", prefs.palette ?? window.innerWidth >= NARROW, { save: false });
  set("side", prefs.side ?? true, { save: false });

  root.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "toggle-palette") set("palette", !isOpen("palette"));
    if (action === "toggle-side") set("side", !isOpen("side"));
    if (action === "minimap") showMap(mapBox.hidden);
  });

  return {
    /** Unfold the settings panel (a step opened with Enter while it is folded). */
    openSide: () => { if (!isOpen("side")) set("side", true); },
  };
}
