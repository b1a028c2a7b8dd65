"""One expression language for templates, conditions and saved values: sandboxed Jinja2.

- `evaluate(expr, scope)`: an expression (`input.country == 'US'`) to a native value.
- `render(value, scope)`: a template (`{{ vars.id }}/x`) to text; a string that is exactly
  one `{{ expression }}` keeps the expression's type; dicts and lists are rendered value by
  value. Values that came from responses are data and never rendered again.
- `parse_error`, `undeclared_names`, `reads_of`: static analysis for the validator.
Undefined names raise (StrictUndefined): a typo fails the step instead of sending "".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from backend.engine.functions import REGISTRY

DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}$", re.DOTALL)


class ExpressionError(Exception):
    """An expression or template that does not parse, or fails when evaluated."""


class Sandbox(ImmutableSandboxedEnvironment):
    """Data first: `vars.items` is the saved value `items`, not the dict's method."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _environment() -> Sandbox:
    env = Sandbox(undefined=StrictUndefined, autoescape=False)
    env.filters.update(REGISTRY)
    env.globals.update(REGISTRY)
    return env


ENV = _environment()


def refresh_functions() -> None:
    """Pick up functions registered after import (FUNCTION_MODULES)."""
    ENV.filters.update(REGISTRY)
    ENV.globals.update(REGISTRY)
    _compiled_expression.cache_clear()
    _compiled_template.cache_clear()


def _parse_expression(source: str) -> nodes.Expr:
    parser = Parser(ENV, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise ExpressionError(f"unexpected {parser.stream.current.value!r} after the expression")
    return expr


def _expression_ast(source: str) -> nodes.Template:
    template = nodes.Template([nodes.Output([_parse_expression(source)])])
    template.set_environment(ENV)
    return template


@lru_cache(maxsize=4096)
def _compiled_expression(source: str) -> Any:
    try:
        return ENV.compile_expression(source, undefined_to_none=False)
    except TemplateError as exc:
        raise ExpressionError(str(exc)) from exc


@lru_cache(maxsize=4096)
def _compiled_template(source: str) -> Any:
    try:
        return ENV.from_string(source)
    except TemplateError as exc:
        raise ExpressionError(str(exc)) from exc


def evaluate(source: str, scope: dict[str, Any]) -> Any:
    compiled = _compiled_expression(source)
    try:
        return _plain(compiled(**scope))
    except SecurityError as exc:
        raise ExpressionError(f"{source!r}: {exc}") from exc
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise ExpressionError(f"{source!r}: {exc}") from exc


def render(value: Any, scope: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: render(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope) for item in value]
    if not isinstance(value, str) or "{" not in value:
        return value
    single = _SINGLE_EXPRESSION.match(value.strip())
    if single:
        return evaluate(single["expr"], scope)
    try:
        return _compiled_template(value).render(**scope)
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise ExpressionError(f"{value!r}: {exc}") from exc


def _plain(value: Any) -> Any:
    """An undefined result is an error (its message names what is missing); tuples to lists."""
    if isinstance(value, Undefined):
        str(value)  # raises UndefinedError with Jinja's own message
    if isinstance(value, tuple):
        return list(value)
    return value


def _ast(source: str, *, template: bool) -> nodes.Template:
    return ENV.parse(source) if template else _expression_ast(source)


def parse_error(source: str, *, template: bool = False) -> str | None:
    """Why `source` does not parse or compile (unknown filters included), else None."""
    try:
        if template:
            _compiled_template(source)
        else:
            _parse_expression(source)
            _compiled_expression(source)
    except (ExpressionError, TemplateError) as exc:
        return str(exc)
    except RecursionError:
        return "nested too deeply"
    return None


def undeclared_names(source: str, *, template: bool = False) -> set[str]:
    """Top-level names an expression or template reads (functions excluded)."""
    return meta.find_undeclared_variables(_ast(source, template=template)) - set(REGISTRY)


def reads_of(source: str, root: str, *, template: bool = False) -> set[str]:
    """Attributes read from `root` (`vars.x`, `vars['x']`); `vars.get('x')` is not a read."""
    tree = _ast(source, template=template)
    called = {id(call.node) for call in tree.find_all(nodes.Call)}
    found: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not (isinstance(node.node, nodes.Name) and node.node.name == root):
            continue
        if isinstance(node, nodes.Getattr) and not (node.attr in DICT_METHODS and id(node) in called):
            found.add(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            found.add(str(node.arg.value))
    return found


def template_sources(value: Any) -> list[str]:
    """Every string inside a template value (dicts and lists walked)."""
    if isinstance(value, dict):
        return [s for item in value.values() for s in template_sources(item)]
    if isinstance(value, list):
        return [s for item in value for s in template_sources(item)]
    return [value] if isinstance(value, str) else []
