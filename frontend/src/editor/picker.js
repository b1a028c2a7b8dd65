// The step picker: a small modal <dialog> of step types that opens at a free port's "+"
// (or wherever the editor asks). Type to filter, arrows to move, Enter or a click to choose,
// Escape or a click outside to close. The types and their words come from the catalogue.
import { paletteTypes, typeInfo } from "./nodetypes.js";

export function createPicker(dialog) {
  const search = dialog.querySelector("input");
  const list = dialog.querySelector("[role=listbox]");
  let choose = null;
  let options = [];
  let active = 0;

  function render() {
    const words = search.value.trim().toLowerCase();
    // a title that starts with the words first, then one that holds them, then a hint
    const score = (type) => {
      const title = typeInfo(type).title.toLowerCase();
      if (!words || title.startsWith(words)) return 0;
      if (title.includes(words) || type.includes(words)) return 1;
      return typeInfo(type).hint.toLowerCase().includes(words) ? 2 : 3;
    };
    const shown = options.map((type) => [score(type), type]).filter(([rank]) => rank < 3)
      .sort((a, b) => a[0] - b[0]).map(([, type]) => type);
    active = Math.min(active, Math.max(shown.length - 1, 0));
    list.replaceChildren(...shown.map((type, index) => {
      const info = typeInfo(type);
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.id = `pick-${type}`;
      item.dataset.nodeType = type;
      item.style.setProperty("--type-color", info.color);
      item.setAttribute("aria-selected", index === active ? "true" : "false");
      const title = document.createElement("strong");
      title.textContent = info.title;
      const hint = document.createElement("small");
      hint.textContent = info.hint;
      item.append(title, hint);
      return item;
    }));
    if (shown.length) search.setAttribute("aria-activedescendant", `pick-${shown[active]}`);
    list.querySelector("[aria-selected=true]")?.scrollIntoView({ block: "nearest" });
  }

  function close() {
    choose = null;
    if (dialog.open) dialog.close();
  }

  /** Offer `types` near (clientX, clientY); `onPick(type)` hears the choice. */
  function open(clientX, clientY, types, onPick) {
    options = types;
    choose = onPick;
    active = 0;
    search.value = "";
    render();
    dialog.showModal();
    const { width, height } = dialog.getBoundingClientRect();
    dialog.style.left = `${Math.max(8, Math.min(clientX + 12, window.innerWidth - width - 8))}px`;
    dialog.style.top = `${Math.max(8, Math.min(clientY - 16, window.innerHeight - height - 8))}px`;
    search.focus();
  }

  function pick(type) {
    const done = choose;
    close();
    if (type && done) done(type);
  }

  search.addEventListener("input", () => { active = 0; render(); });
  search.addEventListener("keydown", (event) => {
    const count = list.children.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (count) active = (active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      pick(list.children[active]?.dataset.nodeType);
    }
  });
  list.addEventListener("click", (event) => pick(event.target.closest("[role=option]")?.dataset.nodeType));
  // a click on the backdrop lands on the dialog itself, outside its box
  dialog.addEventListener("mousedown", (event) => { if (event.target === dialog) close(); });
  dialog.addEventListener("close", () => { choose = null; });

  return { open, close, get isOpen() { return dialog.open; } };
}

/** The types a new step may be: every type that takes an incoming edge and is not used up. */
export function addableTypes(presentTypes) {
  return paletteTypes().filter((type) => {
    const info = typeInfo(type);
    return info.accepts_in && !(info.unique && presentTypes.has(type));
  });
}
