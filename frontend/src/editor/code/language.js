// The expression language (Jinja expressions, as backend/engine/expressions.py reads them),
// for highlighting only: strings, numbers, operators, keywords, the names in scope (`input`,
// `vars`, `response`…), fields after a dot, functions (called or used as a `|` filter).
// What is valid where is the server's to say (the scope endpoint, the expression check).
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";

// Names expressions start from (DESIGN.md, "Blueprint format"); highlighting, not validation.
const ROOTS = new Set([
  "input", "vars", "order", "variables", "response", "item", "index", "result", "results",
  "error", "errors", "signal",
]);
const KEYWORDS = new Set(["and", "or", "not", "in", "is", "if", "else"]);
const ATOMS = new Set(["true", "false", "none", "True", "False", "None"]);
const OPERATOR = /^(==|!=|<=|>=|\/\/|\*\*|[-+*/%<>=~])/;

function string(quote) {
  return (stream, state) => {
    let escaped = false;
    let ch;
    while ((ch = stream.next()) !== undefined) {
      if (ch === quote && !escaped) { state.inside = null; return "string"; }
      escaped = !escaped && ch === "\\";
    }
    return "string";  // not closed on this line: the next line goes on with it
  };
}

function word(stream, state) {
  const name = stream.current();
  const afterDot = state.afterDot;
  const afterPipe = state.afterPipe;
  state.afterDot = false;
  state.afterPipe = false;
  if (afterPipe) return "variableName.function";
  if (afterDot) return stream.match(/^\s*\(/, false) ? "variableName.function" : "propertyName";
  if (KEYWORDS.has(name)) return "keyword";
  if (ATOMS.has(name)) return "atom";
  if (stream.match(/^\s*\(/, false)) return "variableName.function";
  return ROOTS.has(name) ? "variableName.standard" : "variableName";
}

const parser = {
  name: "waybill-expression",
  startState: () => ({ inside: null, afterDot: false, afterPipe: false }),
  token(stream, state) {
    if (state.inside) return string(state.inside)(stream, state);
    if (stream.eatSpace()) return null;
    const ch = stream.peek();
    if (ch === "'" || ch === '"') {
      stream.next();
      state.inside = ch;
      return string(ch)(stream, state);
    }
    if (stream.match(/^\d+(\.\d+)?([eE][-+]?\d+)?/)) return "number";
    if (stream.match(/^[A-Za-z_][\w]*/)) return word(stream, state);
    if (stream.eat(".")) { state.afterDot = true; return "punctuation"; }
    if (stream.eat("|")) { state.afterPipe = true; return "operator.special"; }
    state.afterDot = false;
    if (stream.match(OPERATOR)) return "operator";
    if (stream.match(/^[()[\]{}]/)) return "bracket";
    stream.next();
    return "punctuation";
  },
  languageData: { closeBrackets: { brackets: ["(", "[", "'", '"'] } },
};

export const expressionLanguage = StreamLanguage.define(parser);

const style = HighlightStyle.define([
  { tag: tags.string, color: "#0f7b3d" },
  { tag: tags.number, color: "#b45309" },
  { tag: [tags.keyword, tags.atom], color: "#7c3aed" },
  { tag: tags.operator, color: "#64748b" },
  { tag: tags.special(tags.operator), color: "#db2777", fontWeight: "600" },
  { tag: tags.standard(tags.variableName), color: "#1d4ed8", fontWeight: "600" },
  { tag: tags.propertyName, color: "#0f172a" },
  { tag: tags.function(tags.variableName), color: "#9333ea" },
  { tag: [tags.punctuation, tags.bracket], color: "#64748b" },
]);

export const expressionHighlight = syntaxHighlighting(style);
