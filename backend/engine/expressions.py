"""One expression language for templates, conditions and saved values: sandboxed Jinja2.

- `evaluate(expr, scope)`: an expression (`input.country == 'US'`) to a native value.
- `render(value, scope)`: a template (`{{ vars.id }}/x`) to text; a string that is exactly
  one `{{ expression }}` keeps the expression's type; dicts and lists are rendered value by
  value. Values that came from responses are data and never rendered again.
- `parse_error`, `undeclared_names`, `reads_of`: static analysis for the validator.
Undefined names raise (StrictUndefined): a typo fails the step instead of sending "".
Nothing a user wrote runs while compiling, and what it may cost when it runs is bounded
(`limits`: sizes, number bits, a time budget per call); recursive macros do not parse.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from functools import lru_cache, update_wrapper
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.lexer import TokenStream
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from backend.engine import limits, syntax
from backend.engine.functions import REGISTRY
from backend.engine.limits import ExpressionError, ExpressionLimit
from backend.engine.macro_cycles import recursion_problem
from backend.engine.syntax import ExpressionSyntaxError

__all__ = ["ExpressionError", "ExpressionLimit", "ExpressionSyntaxError", "evaluate", "render",
           "parse_error", "undeclared_names", "reads_of", "template_sources", "refresh_functions"]

DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}$", re.DOTALL)
ARITHMETIC = frozenset({"+", "-", "*", "/", "//", "%", "**"})
_NUMBERS = frozenset({int, float, bool})
# Internal filters the compiled code calls; no user can write these names.
LOOP_FILTER, CONCAT_FILTER, LITERAL_FILTER = "<loop>", "<concat>", "<literal>"


class _CodeGenerator(CodeGenerator):
    """Nothing a user wrote is evaluated while compiling: Jinja would fold `{{ 9**(9**7) }}`
    or `{{ 'a'|center(10**8) }}` into a constant here. Literal template text stays constant."""

    def _output_child_to_const(self, node: nodes.Expr, frame: Any, finalize: Any) -> str:
        if isinstance(node, nodes.TemplateData):
            return super()._output_child_to_const(node, frame, finalize)
        raise nodes.Impossible()


def _static(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Const):
        return True
    if isinstance(node, nodes.List | nodes.Tuple):
        return all(_static(item) for item in node.items)
    if isinstance(node, nodes.Dict):
        return all(_static(pair.key) and _static(pair.value) for pair in node.items)
    return False


def _filter(node: nodes.Expr, name: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)


class _Bounds(NodeTransformer):
    """Before code generation: every loop's iterable bounded and timed, every `~` and every
    list/tuple/dict literal size-checked."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        static = sum(len(data.data) for part in node.body
                     for data in [part, *part.find_all(nodes.TemplateData)]
                     if isinstance(data, nodes.TemplateData))
        iterable: nodes.Expr = node.iter  # type: ignore[assignment]
        node.iter = _filter(iterable, LOOP_FILTER, nodes.Const(static, lineno=node.lineno))
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        self.generic_visit(node)
        return _filter(nodes.Tuple(node.nodes, "load", lineno=node.lineno), CONCAT_FILTER)

    def _literal(self, node: nodes.Expr) -> nodes.Expr:
        self.generic_visit(node)
        return node if _static(node) else _filter(node, LITERAL_FILTER)

    visit_List = visit_Dict = _literal

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Expr:
        return self._literal(node) if node.ctx == "load" else node


def _number_too_long() -> ExpressionLimit:
    return ExpressionLimit(f"a number is too long (the limit is {limits.MAX_INT_BITS:,} bits, "
                           "about 1,233 digits)")


def _check_numbers(tree: nodes.Node) -> None:
    for const in [tree, *tree.find_all(nodes.Const)]:
        if (isinstance(const, nodes.Const) and type(const.value) is int
                and const.value.bit_length() > limits.MAX_INT_BITS):
            raise _number_too_long()


class Sandbox(ImmutableSandboxedEnvironment):
    """Data first: `vars.items` is the saved value `items`, not the dict's method.

    Bounded: no compile-time evaluation (`optimized=False`, `_CodeGenerator`); every
    arithmetic operator, call, filter, attribute/item read, loop item and piece of output
    goes through `limits` (sizes, number bits, a time budget per evaluation)."""

    code_generator_class = _CodeGenerator
    intercepted_binops = ARITHMETIC

    def __init__(self, **options: Any) -> None:
        options.setdefault("optimized", False)
        options.setdefault("finalize", limits.output)
        super().__init__(**options)
        self.globals["range"] = limits.bounded_range
        self.globals["lipsum"] = limits.lipsum
        self.filters.update(limits.BOUNDED_FILTERS)
        self.bound_filters()

    def bound_filters(self) -> None:
        """Wrap every filter (again after functions are registered) with the limits."""
        for name, fn in list(self.filters.items()):
            if not name.startswith("<"):
                self.filters[name] = limits.bounded_filter(name, fn)
        self.filters[LOOP_FILTER] = limits.loop_items
        self.filters[CONCAT_FILTER] = limits.concat
        self.filters[LITERAL_FILTER] = limits.literal

    # -- parsing and compiling --

    def _tokenize(self, source: str, name: str | None, filename: str | None = None,
                  state: str | None = None) -> TokenStream:
        """Every parse reads its tokens through one stream that knows where each one is."""
        return syntax.located_stream(self.lexer, self.preprocess(source, name, filename),
                                     name, filename, state)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        try:
            tree = super()._parse(source, name, filename)
        except ValueError as exc:  # Python's int-from-text digit limit, inside the lexer
            raise _number_too_long() from exc
        except TemplateSyntaxError as exc:
            raise syntax.explain(exc, syntax.last_located(), template=True) from None
        _check_numbers(tree)
        return tree

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        return super()._generate(_Bounds().visit(source), name, filename, defer_init)

    # -- run time --

    def getattr(self, obj: Any, attribute: str) -> Any:
        limits.tick()
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        limits.tick()
        return super().getitem(obj, argument)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        limits.tick()
        if type(left) in _NUMBERS and type(right) in _NUMBERS and operator != "**":
            result = self.binop_table[operator](left, right)  # the common case, made quick
            if type(result) is not int or result.bit_length() <= limits.MAX_INT_BITS:
                return result
            return limits.check_value(result, f"{limits.short(left)} {operator} "
                                              f"{limits.short(right)}")
        nested = limits.check_binop(operator, left, right)
        result = self.binop_table[operator](left, right)
        if nested is not None and isinstance(result, list | tuple):
            limits.remember(result, nested)
        return limits.check_value(result, lambda: f"{limits.short(left)} {operator} "
                                                  f"{limits.short(right)}")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        limits.tick()
        args = limits.check_call(__obj, args, kwargs)
        result = __context.call(__obj, *args, **kwargs)
        return limits.check_value(result, lambda: f"calling {_callee(__obj)}")

    def wrap_str_format(self, value: Any) -> Any:
        """str.format/format_map, sandboxed as Jinja does, each field bounded and counted."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
                value.__name__ not in ("format", "format_map")):
            return None
        f_self = value.__self__
        if not isinstance(f_self, str):
            return None
        str_type = type(f_self)
        is_format_map = value.__name__ == "format_map"
        formatter = (limits.BoundedEscapeFormatter(self, escape=f_self.escape)
                     if isinstance(f_self, Markup) else limits.BoundedFormatter(self))

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs, args = args[0], ()
            return str_type(formatter.vformat(f_self, args, kwargs))

        return update_wrapper(wrapper, value)


def _callee(obj: Any) -> str:
    name = getattr(obj, "__name__", None) or getattr(obj, "_name", None) or type(obj).__name__
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, str | bytes | int):
        return f"{limits.short(owner)}.{name}()"
    return f"{name}()"


class _Strict(StrictUndefined):
    """A missing name, key or element fails the step, in words that say what is there."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name, obj = self._undefined_name, self._undefined_obj
        if obj is missing:
            return f"“{name}” is not defined here"
        if isinstance(obj, dict):
            keys = [str(key)[:40] for key in list(obj)[:12]]
            has = f"it has {', '.join(keys)}{', …' if len(obj) > 12 else ''}" if keys else "it is empty"
            return f"there is no “{name}” in this object ({has})"
        kind = "text" if isinstance(obj, str) else "list" if isinstance(obj, list | tuple) else None
        if kind and isinstance(name, int):
            return f"the {kind} has no element {name} (it has {len(obj)})"
        return f"{f'the {kind}' if kind else limits.short(obj)} has no “{name}”"


def _environment() -> Sandbox:
    env = Sandbox(undefined=_Strict, autoescape=False)
    _install_functions(env)
    return env


def _install_functions(env: Sandbox) -> None:
    env.filters.update(REGISTRY)
    env.globals.update({name: limits.bounded_filter(name, fn) for name, fn in REGISTRY.items()})
    env.bound_filters()


ENV = _environment()


def refresh_functions() -> None:
    """Pick up functions registered after import (FUNCTION_MODULES)."""
    _install_functions(ENV)
    _compiled_expression.cache_clear()
    _compiled_template.cache_clear()
    _template_recursion.cache_clear()


def _parse_expression(source: str) -> nodes.Expr:
    """The expression's tree; what does not parse is an ExpressionSyntaxError that says where
    and what was expected there."""
    try:
        parser = Parser(ENV, source, state="variable")
        expr = parser.parse_expression()
        at_end = parser.stream.eos
    except ValueError as exc:  # Python's int-from-text digit limit, inside the lexer
        raise _number_too_long() from exc
    except TemplateSyntaxError as exc:
        raise syntax.explain(exc, syntax.last_located(), template=False) from None
    if not at_end:
        located = syntax.last_located()
        assert located is not None
        raise syntax.leftover(located, parser.stream.current)
    _check_numbers(expr)
    return expr


def _expression_ast(source: str) -> nodes.Template:
    template = nodes.Template([nodes.Output([_parse_expression(source)])])
    template.set_environment(ENV)
    return template


@lru_cache(maxsize=4096)
def _compiled_expression(source: str) -> Any:
    expr = _parse_expression(source)
    expr.set_environment(ENV)
    body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
    try:
        template = ENV.from_string(nodes.Template(body, lineno=1))
    except TemplateError as exc:
        raise syntax.compile_error(exc.message or str(exc), source) from exc
    except ValueError as exc:
        raise ExpressionError(str(exc)) from exc
    return template


@lru_cache(maxsize=4096)
def _compiled_template(source: str) -> Any:
    try:
        return ENV.from_string(source)
    except TemplateError as exc:
        raise syntax.compile_error(exc.message or str(exc), source) from exc
    except ValueError as exc:
        raise ExpressionError(str(exc)) from exc


_RUNTIME_ERRORS = (TemplateError, ArithmeticError, LookupError, TypeError, ValueError)


class _Evaluating:
    """One budget (shared with nested calls), and every failure as an ExpressionError that
    names the source: going over a limit, recursing too deeply or running out of memory as
    an ExpressionLimit. A class, not @contextmanager: this wraps every evaluation."""

    __slots__ = ("source", "token")

    def __init__(self, source: str) -> None:
        self.source = source

    def __enter__(self) -> None:
        self.token = limits.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: object) -> None:
        limits.stop(self.token)
        if exc is None or (isinstance(exc, ExpressionError)
                           and not isinstance(exc, ExpressionLimit)):
            return
        where = f"{self.source!r}: "
        if isinstance(exc, ExpressionLimit):
            raise ExpressionLimit(f"{where}{exc}") from exc
        if isinstance(exc, _RUNTIME_ERRORS):  # SecurityError is a TemplateError
            raise ExpressionError(f"{where}{exc}") from exc
        if isinstance(exc, RecursionError):
            raise ExpressionLimit(f"{where}nested or recursing too deeply") from exc
        if isinstance(exc, MemoryError):
            raise ExpressionLimit(f"{where}ran out of memory") from exc


# a bare path of names (`input.value`, `response.body.step`): most expressions are one, and
# looking it up directly costs a twentieth of a run through the template machinery
_PATH = re.compile(r"\s*[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*\s*")
_KEYWORDS = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not",
                       "in", "is", "if", "else"})
_MISSING = object()


@lru_cache(maxsize=4096)
def _path(source: str) -> tuple[str, ...] | None:
    if not _PATH.fullmatch(source):
        return None
    names = tuple(name.strip() for name in source.split("."))
    return None if _KEYWORDS.intersection(names) else names


def _lookup(path: tuple[str, ...], scope: Mapping[str, Any]) -> Any:
    """The value at `path` through dicts only, else _MISSING (the template machinery then
    decides: functions, attributes of other objects, and the error for a missing name)."""
    value = scope.get(path[0], _MISSING)
    for name in path[1:]:
        if not isinstance(value, dict) or name not in value:
            return _MISSING
        value = value[name]
    return value


def evaluate(source: str, scope: dict[str, Any]) -> Any:
    path = _path(source)
    if path is not None and (found := _lookup(path, scope)) is not _MISSING:
        return _plain(found)
    with _Evaluating(source):
        template = _compiled_expression(source)
        context = template.new_context(scope)
        for _ in template.root_render_func(context):
            pass
        return _plain(context.vars["result"])


def render(value: Any, scope: dict[str, Any]) -> Any:
    if isinstance(value, dict | list):
        token = limits.start()  # one budget for the whole body
        try:
            if isinstance(value, dict):
                return {key: render(item, scope) for key, item in value.items()}
            return [render(item, scope) for item in value]
        finally:
            limits.stop(token)
    if not isinstance(value, str) or "{" not in value:
        return value
    single = _SINGLE_EXPRESSION.match(value.strip())
    if single:
        return evaluate(single["expr"], scope)
    with _Evaluating(value):
        return _render_text(_compiled_template(value), scope)


def _render_text(template: Any, scope: dict[str, Any]) -> str:
    """The template's text, piece by piece, refused as soon as it is longer than MAX_SIZE."""
    parts: list[str] = []
    size = 0
    for part in template.root_render_func(template.new_context(scope)):
        size += len(part)
        if size > limits.MAX_SIZE:
            raise ExpressionLimit(f"the text would be longer than {limits.MAX_SIZE:,} characters "
                                  "(the limit)")
        parts.append(part)
    return "".join(parts)


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
    """Why `source` does not parse or compile (unknown filters, numbers too long and, in
    templates, recursive macros included), else None."""
    try:
        if template:
            _compiled_template(source)
            return _template_recursion(source)
        _parse_expression(source)
        _compiled_expression(source)
    except (ExpressionError, TemplateError) as exc:
        return str(exc)
    except RecursionError:
        return "nested too deeply"
    return None


@lru_cache(maxsize=4096)
def _template_recursion(source: str) -> str | None:
    return recursion_problem(ENV.parse(source), ENV.globals)


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
