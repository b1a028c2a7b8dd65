"""What an expression read: each value path it names (`input.country`, `vars.match`,
`vars.items[0]`) with the value it had, so a condition's step run can say why it went the
way it did ("input.country = "CA", so `input.country == 'US'` is false").

Paths are the longest chains of attribute and constant-key reads from a name; a method
called on a value (`input.get('x')`) stops its chain before the method. Each path is looked
up again in the same scope under the expressions' own limits; values are capped so that a
read of a large list keeps the step run small.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from jinja2 import nodes

from backend.engine import expressions
from backend.engine.functions import REGISTRY

MAX_READS = 20
MAX_VALUE_CHARS = 300
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
_GLOBALS = frozenset({"range", "lipsum"})


def _text(chain: nodes.Expr) -> str | None:
    """`input.country`, `vars.items[0]`, `input['a b']` for a chain, None if it is not one."""
    if isinstance(chain, nodes.Name):
        return chain.name
    if isinstance(chain, nodes.Getattr):
        head = _text(chain.node)
        return None if head is None else f"{head}.{chain.attr}"
    if isinstance(chain, nodes.Getitem) and isinstance(chain.arg, nodes.Const):
        head, key = _text(chain.node), chain.arg.value
        if head is None or not isinstance(key, str | int) or isinstance(key, bool):
            return None
        if isinstance(key, str) and _IDENTIFIER.match(key):
            return f"{head}.{key}"
        return f"{head}[{json.dumps(key)}]"
    return None


@lru_cache(maxsize=2048)
def paths(source: str) -> tuple[str, ...]:
    """The value paths an expression names, in the order they appear, each once."""
    tree = expressions._parse_expression(source)
    called = {id(call.node) for call in tree.find_all(nodes.Call)}
    inner: set[int] = set()
    chains: list[nodes.Expr] = []
    for node in [tree, *tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem))]:
        if not isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            continue
        if id(node) in called:  # a method or function called: its receiver is the read
            if isinstance(node, nodes.Getattr):
                inner.discard(id(node.node))
            continue
        if isinstance(node, nodes.Getattr | nodes.Getitem) and _text(node) is not None:
            inner.add(id(node.node))
        chains.append(node)
    found: dict[str, None] = {}
    for chain in chains:
        text = _text(chain)
        if id(chain) in inner or text is None:
            continue
        if text.split(".", 1)[0].split("[", 1)[0] in REGISTRY.keys() | _GLOBALS:
            continue
        found[text] = None
    return tuple(found)[:MAX_READS]


def reads(source: str, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """Each path `source` names, with its value in `scope` (`missing` if it has none)."""
    try:
        named = paths(source)
    except expressions.ExpressionError:
        return []
    found = []
    for path in named:
        try:
            value = expressions.evaluate(path, scope)
        except expressions.ExpressionError:
            found.append({"path": path, "missing": True})
            continue
        found.append({"path": path} | _capped(value))
    return found


def _capped(value: Any) -> dict[str, Any]:
    try:
        text = json.dumps(value, default=str)
    except ValueError:  # a circular value
        return {"preview": expressions.limits.short(value), "truncated": True}
    if len(text) <= MAX_VALUE_CHARS:
        return {"value": json.loads(text)}
    return {"preview": text[:MAX_VALUE_CHARS] + "…", "truncated": True}
