// Steps named as a person reads them: the label first, the id second and small (muted,
// monospace); a step without a label by its id alone. Built with textContent only: labels
// are user-written.
import { nodeOf } from "./convert.js";

/** The step's label, or "" when it has none (or it is its id). */
export function labelOf(editor, id) {
  const cell = editor?.findNode?.(id);
  const label = cell ? String(nodeOf(cell).label || "").trim() : "";
  return label && label !== id ? label : "";
}

/** `<span class="step-label">Check country</span> <code class="id">check_country</code>`. */
export function stepName(editor, id) {
  const code = document.createElement("code");
  code.textContent = id;
  const label = labelOf(editor, id);
  if (!label) {
    code.className = "id id-only";
    return [code];
  }
  code.className = "id";
  const span = document.createElement("span");
  span.className = "step-label";
  span.textContent = label;
  return [span, " ", code];
}
