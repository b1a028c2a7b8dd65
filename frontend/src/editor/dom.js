// Building elements with textContent only: what they show may be user data.

/** A `tag` element with `className` and, if given, `text`. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
