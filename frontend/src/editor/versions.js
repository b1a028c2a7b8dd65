// Published versions: list them, view one read-only, restore one into the draft.
import { api, describeFailure } from "./api.js";
import { toast } from "./toast.js";

function formatTime(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleString();
}

export function createVersions(editor, root) {
  const menu = root.querySelector("#versions-menu");
  const banner = root.querySelector("#version-banner");
  let stash = null;
  let viewing = null;

  function item(version) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "menu-item";
    button.dataset.version = String(version.version);
    const name = document.createElement("strong");
    name.textContent = `Version ${version.version}`;
    const when = document.createElement("small");
    when.textContent = formatTime(version.created_at);
    button.append(name, when);
    button.addEventListener("click", () => view(version.version));
    return button;
  }

  async function open() {
    menu.hidden = false;
    const loading = document.createElement("div");
    loading.className = "menu-note";
    loading.textContent = "Loading…";
    menu.replaceChildren(loading);
    const result = await api.versions(editor.meta.id);
    if (!result.ok) { loading.textContent = describeFailure(result); return; }
    const versions = [...result.data.data].sort((a, b) => b.version - a.version);
    if (!versions.length) { loading.textContent = "Nothing published yet"; return; }
    menu.replaceChildren(...versions.map(item));
  }

  function close() { menu.hidden = true; }
  const toggle = () => (menu.hidden ? open() : close());
  document.addEventListener("mousedown", (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !event.target.closest("[data-action=versions]")) close();
  });

  function setViewing(version) {
    viewing = version;
    editor.readOnly = Boolean(version);
    root.classList.toggle("is-read-only", editor.readOnly);
    banner.hidden = !version;
    for (const action of ["save", "publish", "test-run", "layout", "undo", "redo"]) {
      const button = root.querySelector(`.editor-toolbar [data-action="${action}"]`);
      if (button) button.disabled = editor.readOnly;
    }
    if (version) banner.querySelector("[data-version-label]").textContent = `Viewing version ${version.version}`;
  }

  async function view(n) {
    close();
    const result = await api.version(editor.meta.id, n);
    if (!result.ok) { toast(describeFailure(result), "error"); return; }
    if (!viewing) stash = editor.toDoc();
    setViewing(result.data);
    editor.load(result.data.definition);
    editor.problems.show([]);
    root.querySelector("#save-status").textContent = `Read-only: version ${n}`;
  }

  function backToDraft() {
    if (!viewing) return;
    setViewing(null);
    editor.load(stash);
    stash = null;
    editor.changed();
  }

  function restore() {
    if (!viewing) return;
    const { version, definition } = viewing;
    setViewing(null);
    editor.load({ ...definition, id: editor.meta.id });
    stash = null;
    editor.changed();
    toast(`Version ${version} is in the draft now; save to keep it`, "ok", 4000);
  }

  /** Close the menu if it is open; whether it was. */
  const dismiss = () => { const was = !menu.hidden; close(); return was; };
  return { toggle, dismiss, view, backToDraft, restore, get viewing() { return viewing; } };
}
