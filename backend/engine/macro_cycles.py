"""Recursion found before a template is saved: a macro (or a block through `self.name()`)
that calls itself, directly or through other macros of the same template, or through a
macro passed around as a value (`{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}`).

The call graph comes from the AST. A call whose target cannot be named statically (a
parameter, `caller`, a value read from data...) is taken to possibly call any macro that
the template uses as a value rather than calling it by name: sound for cycles, and silent
for templates that never pass macros around. Recursive `{% for ... recursive %}` loops are
left to the run-time limits (their depth follows the data).
"""

from __future__ import annotations

from collections.abc import Iterable

from jinja2 import nodes

_DYNAMIC = "<dynamic>"


def _label(key: str) -> str:
    if key.startswith("block:"):
        return f"the block {key[6:]!r}"
    if key.startswith("caller:"):
        return f"the {{% call %}} body for {key[7:]!r}"
    return f"the macro {key!r}"


class _Graph:
    def __init__(self, tree: nodes.Template, known_globals: Iterable[str]) -> None:
        self.macros = {macro.name for macro in tree.find_all(nodes.Macro)}
        self.blocks = {block.name for block in tree.find_all(nodes.Block)}
        self.known = set(known_globals) - self.macros
        self.edges: dict[str, set[str]] = {}
        self.escaping: set[str] = set()
        self.called = called = {id(call.node) for call in tree.find_all(nodes.Call)}
        self_attrs = {id(attr.node) for attr in tree.find_all(nodes.Getattr)
                      if isinstance(attr.node, nodes.Name) and attr.node.name == "self"}
        for name in tree.find_all(nodes.Name):
            if name.ctx != "load" or id(name) in called:
                continue
            if name.name in self.macros:
                self.escaping.add(name.name)
            elif name.name == "self" and id(name) not in self_attrs:
                self.escaping |= {f"block:{block}" for block in self.blocks}
        for attr in tree.find_all(nodes.Getattr):
            if (isinstance(attr.node, nodes.Name) and attr.node.name == "self"
                    and id(attr) not in called):
                self.escaping.add(f"block:{attr.attr}")
        self._walk(tree, None, None, frozenset())

    def _edge(self, owner: str | None, target: str) -> None:
        if owner is not None:
            self.edges.setdefault(owner, set()).add(target)

    def _walk(self, node: nodes.Node, owner: str | None, macro: str | None,
              params: frozenset[str]) -> None:
        if isinstance(node, nodes.Macro):
            inner = frozenset(arg.name for arg in node.args)
            for child in [*node.defaults, *node.body]:
                self._walk(child, node.name, node.name, inner)
            return
        if isinstance(node, nodes.Block):
            for child in node.body:
                self._walk(child, f"block:{node.name}", None, frozenset())
            return
        if isinstance(node, nodes.CallBlock):
            self._walk(node.call, owner, macro, params)
            target = node.call.node
            if isinstance(target, nodes.Name) and target.name in self.macros:
                body = f"caller:{target.name}"
            else:  # called by a macro we cannot name: reachable from any dynamic call
                body = f"caller:<line {node.lineno}>"
                self.escaping.add(body)
            inner = params | {arg.name for arg in node.args}
            for child in [*node.defaults, *node.body]:
                self._walk(child, body, macro, inner)
            return
        if isinstance(node, nodes.Call):
            self._edge(owner, self._target(node.node, macro, params))
        elif (isinstance(node, nodes.Name) and node.name == "caller" and node.ctx == "load"
              and macro is not None and id(node) not in self.called):
            self.escaping.add(f"caller:{macro}")  # `caller` handed on as a value
        for child in node.iter_child_nodes():
            self._walk(child, owner, macro, params)

    def _target(self, callee: nodes.Node, macro: str | None, params: frozenset[str]) -> str:
        if isinstance(callee, nodes.Name):
            if callee.name in params:
                return _DYNAMIC
            if callee.name in self.macros:
                return callee.name
            if callee.name == "caller" and macro is not None:
                return f"caller:{macro}"
            if callee.name in self.known or callee.name == "loop":
                return ""
            return _DYNAMIC
        if (isinstance(callee, nodes.Getattr) and isinstance(callee.node, nodes.Name)
                and callee.node.name == "self" and "self" not in params):
            return f"block:{callee.attr}"
        return _DYNAMIC

    def successors(self, key: str) -> set[str]:
        found = set()
        for target in self.edges.get(key, ()):
            if target == _DYNAMIC:
                found |= self.escaping
            elif target:
                found.add(target)
        return found

    def cycle(self) -> list[str] | None:
        state: dict[str, int] = {}  # 1 on the current path, 2 done
        for start in sorted(self.edges):
            if state.get(start):
                continue
            path, stack = [start], [iter(sorted(self.successors(start)))]
            state[start] = 1
            while stack:
                step = next(stack[-1], None)
                if step is None:
                    state[path.pop()] = 2
                    stack.pop()
                elif state.get(step) == 1:
                    return [*path[path.index(step):], step]
                elif not state.get(step):
                    state[step] = 1
                    path.append(step)
                    stack.append(iter(sorted(self.successors(step))))
        return None


def recursion_problem(tree: nodes.Template, known_globals: Iterable[str]) -> str | None:
    """Why the template's macros can recurse, else None."""
    if next(tree.find_all((nodes.Macro, nodes.Block)), None) is None:
        return None
    cycle = _Graph(tree, known_globals).cycle()
    if cycle is None:
        return None
    if len(cycle) == 2:
        return f"{_label(cycle[0])} calls itself; recursive macros are not allowed"
    chain = " → ".join(_label(key) for key in cycle)
    return f"macros call each other in a cycle ({chain}); recursive macros are not allowed"
