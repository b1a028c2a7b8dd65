// A small popover that asks which kind a new edge is when its port offers more than one (a
// condition's true or false); the kinds and their labels come from the catalogue.
import { edgeStyle } from "./nodetypes.js";

const describe = (kind) => (edgeStyle(kind).label ? `When ${edgeStyle(kind).label}` : "Next step");

export function chooseBranch(clientX, clientY, kinds) {
  return new Promise((resolve) => {
    const menu = document.createElement("div");
    menu.className = "branch-chooser";
    menu.setAttribute("role", "menu");
    const title = document.createElement("div");
    title.className = "branch-chooser-title";
    title.textContent = "Which branch is this?";
    menu.append(title);
    for (const kind of kinds) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.kind = kind;
      button.className = `branch-${kind}`;
      button.textContent = describe(kind);
      menu.append(button);
    }
    menu.style.left = `${clientX + 8}px`;
    menu.style.top = `${clientY + 8}px`;
    document.body.append(menu);
    menu.querySelector("button").focus();

    function done(kind) {
      document.removeEventListener("mousedown", outside, true);
      document.removeEventListener("keydown", key, true);
      menu.remove();
      resolve(kind);
    }
    function outside(event) {
      if (!menu.contains(event.target)) done(null);
    }
    function key(event) {
      if (event.key === "Escape") { event.stopPropagation(); done(null); }
      const byKey = kinds.find((kind) => kind[0] === event.key);
      if (byKey) done(byKey);
    }
    menu.addEventListener("click", (event) => {
      const kind = event.target.closest("button")?.dataset.kind;
      if (kind) done(kind);
    });
    document.addEventListener("mousedown", outside, true);
    document.addEventListener("keydown", key, true);
  });
}
