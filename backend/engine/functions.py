"""The function registry: `@function("first")` makes a Python function both a `function`
node type argument and an expression filter (`vars.items | first`).

Built-ins live here; more modules are imported from the `FUNCTION_MODULES` setting.
Browser users cannot write Python: only code registered here ever runs.
"""

from __future__ import annotations

import importlib
import inspect
import uuid as _uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

Function = Callable[..., Any]
REGISTRY: dict[str, Function] = {}


def function(name: str) -> Callable[[Function], Function]:
    def register(fn: Function) -> Function:
        REGISTRY[name] = fn
        return fn

    return register


def load_modules(modules: Iterable[str]) -> None:
    for module in modules:
        importlib.import_module(module)


def describe() -> list[dict[str, Any]]:
    """Name, first docstring line and parameter names of every registered function."""
    return [
        {
            "name": name,
            "doc": (inspect.getdoc(fn) or "").splitlines()[0] if inspect.getdoc(fn) else "",
            "params": list(inspect.signature(fn).parameters),
        }
        for name, fn in sorted(REGISTRY.items())
    ]


@function("first")
def first(items: Any) -> Any:
    """First element of a list (None when empty)."""
    return next(iter(items), None)


@function("last")
def last(items: Any) -> Any:
    """Last element of a list (None when empty)."""
    items = list(items)
    return items[-1] if items else None


@function("get")
def get(obj: Any, path: str, default: Any = None) -> Any:
    """Value at a dotted path (`a.b.0.c`) in nested objects and lists, else `default`."""
    for part in str(path).split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and part.lstrip("-").isdigit() and -len(obj) <= int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return default
    return obj


@function("length")
def length(items: Any) -> int:
    """Number of elements."""
    return len(items)


@function("sum")
def sum_(items: Any, attribute: str | None = None) -> Any:
    """Sum of a list, or of one attribute of each element."""
    values = (get(item, attribute) for item in items) if attribute else items
    return sum(values)


@function("now")
def now() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat()


@function("format_date")
def format_date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    """Format an ISO 8601 date (or epoch seconds) with a strftime pattern."""
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        moment = datetime.fromisoformat(str(value))
    return moment.strftime(fmt)


@function("uuid")
def uuid() -> str:
    """A random UUID4."""
    return str(_uuid.uuid4())
