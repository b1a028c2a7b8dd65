// The palette of step types: drag one onto the canvas, or click to add it in view.
import { Dnd } from "@antv/x6";
import { paletteTypes, typeInfo } from "./nodetypes.js";
import { nodeCell } from "./shapes.js";

const SVG = "http://www.w3.org/2000/svg";
const ID_PREFIX = {
  api_call: "call", function: "fn", condition: "check", sleep: "sleep", wait_signal: "wait", end: "end",
  for_each: "each", sub_blueprint: "child", parallel: "fan", join: "join",
};
const DEFAULTS = { sleep: { duration: "15m" }, end: { status: "completed" } };

function icon(info) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", info.icon);
  svg.append(path);
  return svg;
}

function item(type) {
  const info = typeInfo(type);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "palette-item";
  button.dataset.nodeType = type;
  button.style.setProperty("--type-color", info.color);
  const glyph = document.createElement("span");
  glyph.className = "palette-icon";
  glyph.append(icon(info));
  const text = document.createElement("span");
  text.className = "palette-text";
  const title = document.createElement("strong");
  title.textContent = info.title;
  const hint = document.createElement("small");
  hint.textContent = info.hint;
  text.append(title, hint);
  button.append(glyph, text);
  return button;
}

export function freshNodeId(editor, type) {
  if (type === "start" && !editor.findNode("start")) return "start";
  const prefix = ID_PREFIX[type] || type;
  let n = 1;
  while (editor.findNode(`${prefix}_${n}`)) n += 1;
  return `${prefix}_${n}`;
}

export function newNode(editor, type) {
  return { id: freshNodeId(editor, type), type, ...(DEFAULTS[type] || {}) };
}

export function createPalette(editor, element) {
  const dnd = new Dnd({
    target: editor.graph,
    scaled: false,
    validateNode: () => !editor.readOnly,
  });
  const items = paletteTypes().map(item);
  element.replaceChildren(...items);
  // A drag starts after a few pixels of movement, so that a plain click stays a click.
  element.addEventListener("mousedown", (down) => {
    const button = down.target.closest(".palette-item");
    if (!button || button.disabled || editor.readOnly || down.button !== 0) return;
    down.preventDefault();
    const move = (event) => {
      if (Math.hypot(event.clientX - down.clientX, event.clientY - down.clientY) < 4) return;
      stop();
      const node = newNode(editor, button.dataset.nodeType);
      dnd.start(editor.graph.createNode(nodeCell(node, { x: 0, y: 0 }, editor.apiCalls)), event);
    };
    const stop = () => {
      document.removeEventListener("mousemove", move);
      document.removeEventListener("mouseup", stop);
    };
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", stop);
  });
  element.addEventListener("click", (event) => {
    const button = event.target.closest(".palette-item");
    if (!button || button.disabled || editor.readOnly) return;
    editor.addNodeInView(newNode(editor, button.dataset.nodeType));
  });

  function refresh() {
    const present = new Set(editor.graph.getNodes().map((cell) => cell.getData()?.node?.type));
    for (const button of items) {
      const type = button.dataset.nodeType;
      const taken = typeInfo(type).unique && present.has(type);
      button.disabled = editor.readOnly || taken;
      button.title = taken ? `A blueprint has exactly one ${typeInfo(type).title.toLowerCase()}` : "";
    }
  }
  return { refresh };
}
