// Completion for expression fields, answered locally from the scope the server sent for the
// node and field (code/scope.js): after `input.` the input schema's properties, after `vars.`
// what every path saved (and, marked apart, what only some paths save), `response.body.`
// fields in a save, and functions, as calls or as `|` filters. Only names the server listed:
// it offers what validation accepts and nothing it refuses.

const SURE = { name: "saved on every path", rank: 0 };
const MAYBE = { name: "only on some paths", rank: 1 };
const TYPE_OF_KIND = { input: "property", var: "variable", maybe: "variable", local: "variable" };

function shown(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function infoOf(name) {
  const parts = [];
  if (name.detail) parts.push(name.detail);
  const sample = shown(name.sample);
  if (sample) parts.push(`e.g. ${sample}`);
  return parts.join("\n") || undefined;
}

function option(name, segment) {
  const maybe = name.kind === "maybe";
  const completion = {
    label: segment,
    type: TYPE_OF_KIND[name.kind] || "property",
    detail: maybe ? "only on some paths" : name.type || undefined,
    info: infoOf(name),
    boost: maybe ? -20 : 0,
  };
  if (name.kind === "var") completion.section = SURE;
  if (maybe) {
    completion.section = MAYBE;
    completion.apply = `get('${segment}')`;  // the read that is safe where it may be unsaved
  }
  return completion;
}

function functionOption(fn, asFilter) {
  const params = asFilter ? fn.params.slice(1) : fn.params;
  return {
    label: fn.name,
    type: "function",
    detail: params.length ? `(${params.join(", ")})` : asFilter ? "filter" : "()",
    info: fn.doc || undefined,
    apply: asFilter || !fn.params.length ? fn.name : `${fn.name}(`,
    boost: -5,
  };
}

/** The scope indexed for completion: options by the prefix they follow (`vars.` → its names). */
export function indexScope(scope) {
  const byPrefix = new Map();
  const roots = new Map();
  const add = (prefix, completion) => {
    if (!byPrefix.has(prefix)) byPrefix.set(prefix, new Map());
    const options = byPrefix.get(prefix);
    if (!options.has(completion.label)) options.set(completion.label, completion);
  };
  for (const name of scope.names || []) {
    const cut = name.path.lastIndexOf(".");
    const root = name.path.split(".")[0];
    if (!roots.has(root)) roots.set(root, { label: root, type: "namespace", boost: 10 });
    if (cut < 0) {
      roots.set(root, { ...option(name, root), section: undefined, apply: undefined, boost: 10 });
      continue;
    }
    add(name.path.slice(0, cut + 1), option(name, name.path.slice(cut + 1)));
  }
  const functions = scope.functions || [];
  return {
    byPrefix: new Map([...byPrefix].map(([prefix, options]) => [prefix, [...options.values()]])),
    roots: [...roots.values(), ...functions.map((fn) => functionOption(fn, false))],
    filters: functions.map((fn) => functionOption(fn, true)),
  };
}

// Whether `text` ends inside a string literal: no completion there.
function inString(text) {
  let quote = null;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quote) {
      if (ch === "\\") i += 1;
      else if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    }
  }
  return quote !== null;
}

const WORD = /^\w*$/;

/** What to offer at the cursor, from an indexed scope; null when nothing fits. */
export function completeAt(indexed, before, pos, explicit) {
  if (inString(before)) return null;
  const match = /([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*\.?|\w*)$/.exec(before);
  const text = match ? match[1] : "";
  const start = pos - text.length;
  const cut = text.lastIndexOf(".");
  if (cut >= 0) {
    const options = indexed.byPrefix.get(text.slice(0, cut + 1));
    return options ? { from: start + cut + 1, options, validFor: WORD } : null;
  }
  if (/\|\s*$/.test(before.slice(0, start))) {
    return { from: start, options: indexed.filters, validFor: WORD };
  }
  if (!text && !explicit) return null;
  return { from: start, options: indexed.roots, validFor: WORD };
}

/** A CodeMirror completion source; `current()` is the field's scope ({indexed} once it came,
 * {promise} while it is on its way, or null). */
export function completionSource(current) {
  const answer = (indexed, context) => completeAt(
    indexed, context.state.sliceDoc(0, context.pos), context.pos, context.explicit);
  return (context) => {
    const scope = current();
    if (!scope) return null;
    if (scope.indexed) return answer(scope.indexed, context);
    return scope.promise.then((indexed) => (indexed ? answer(indexed, context) : null));
  };
}
