// What the server knows is in scope at a node's field (POST /api/blueprints/{id}/scope), fetched
// once when the node's panel renders and kept per node, field and draft, so that completing
// after a keystroke is answered locally.
import { api } from "../api.js";
import { indexScope } from "./complete.js";

const KEPT = 24;  // scopes kept (each keyed by the whole draft: an edit makes a new key)

/** The scope request's `field` for a form field's name: `save.value` → `save`. */
export function scopeField(name) {
  return String(name || "").split(".")[0];
}

export function createScopes(editor) {
  const cache = new Map();

  async function fetchScope(node, field, draft) {
    let result = await api.scope(editor.meta.id, { node, field, draft });
    // a draft the API cannot read (being edited into shape): the stored draft's scope instead
    if (result.status === 422) result = await api.scope(editor.meta.id, { node, field });
    return result.ok ? result.data : null;
  }

  /** {promise, indexed (once it came), data} for the node's field in the draft as it is now
   * (a caller loading several fields passes the draft and its JSON, made once). */
  function load(node, field, draft = editor.toDoc(), draftJson = JSON.stringify(draft)) {
    const key = `${node}\u0000${field}\u0000${draftJson}`;
    const known = cache.get(key);
    if (known) return known;
    const entry = { indexed: null, data: null, promise: null };
    entry.promise = fetchScope(node, field, draft).then((data) => {
      entry.data = data;
      entry.indexed = data ? indexScope(data) : null;
      return entry.indexed;
    });
    cache.set(key, entry);
    while (cache.size > KEPT) cache.delete(cache.keys().next().value);
    return entry;
  }

  /** Forget every scope: a run recorded new responses, whose fields the scopes list. */
  function clear() {
    cache.clear();
  }

  return { load, clear };
}
