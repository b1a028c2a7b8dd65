"""The built-in functions, as called directly, as filters and as globals."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.engine import functions
from backend.engine.expressions import evaluate
from backend.engine.functions import (
    REGISTRY,
    describe,
    first,
    format_date,
    get,
    last,
    length,
    now,
    sum_,
)

BUILT_INS = {"first", "last", "get", "length", "sum", "now", "format_date", "uuid"}


def test_built_ins_are_registered() -> None:
    assert set(REGISTRY) >= BUILT_INS
    assert REGISTRY["sum"] is sum_ and REGISTRY["uuid"] is functions.uuid


@pytest.mark.parametrize(("items", "expected"), [
    ([3, 1, 2], 3), ([], None), ((7, 8), 7), ("ab", "a"), ({"k": 1}, "k"),
])
def test_first(items: object, expected: object) -> None:
    assert first(items) == expected


@pytest.mark.parametrize(("items", "expected"), [
    ([3, 1, 2], 2), ([], None), ((7, 8), 8), (iter([1, 2, 9]), 9),
])
def test_last(items: object, expected: object) -> None:
    assert last(items) == expected


DATA = {"a": {"b": [{"c": 1}, {"c": 2}], "n": None}, "list": [10, 20, 30]}


@pytest.mark.parametrize(("path", "expected"), [
    ("a.b.0.c", 1), ("a.b.1.c", 2), ("a.b.-1.c", 2), ("list.2", 30), ("list.-3", 10),
    ("a.n", None), ("a", DATA["a"]),
])
def test_get_follows_dotted_paths(path: str, expected: object) -> None:
    assert get(DATA, path) == expected


@pytest.mark.parametrize("path", ["a.x", "list.3", "list.-4", "list.x", "a.b.0.c.d", "a.n.x"])
def test_get_answers_the_default_when_missing(path: str) -> None:
    assert get(DATA, path) is None
    assert get(DATA, path, "fallback") == "fallback"


def test_get_on_a_scalar_is_the_default() -> None:
    assert get(5, "x", 0) == 0


def test_length() -> None:
    assert (length([1, 2, 3]), length(""), length({"a": 1})) == (3, 0, 1)


def test_sum_of_values_and_of_an_attribute_path() -> None:
    assert sum_([1, 2, 3.5]) == 6.5
    assert sum_([]) == 0
    lines = [{"price": {"net": 2}}, {"price": {"net": 5}}]
    assert sum_(lines, "price.net") == 7


def test_now_is_current_utc_iso_8601() -> None:
    moment = datetime.fromisoformat(now())
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(seconds=5)


@pytest.mark.parametrize(("value", "fmt", "expected"), [
    ("2024-03-05T10:20:30+00:00", "%Y-%m-%d", "2024-03-05"),
    ("2024-03-05T10:20:30", "%d/%m/%Y %H:%M", "05/03/2024 10:20"),
    (0, "%Y-%m-%dT%H:%M:%S", "1970-01-01T00:00:00"),
    (86_400.5, "%Y-%m-%d", "1970-01-02"),
])
def test_format_date(value: object, fmt: str, expected: str) -> None:
    assert format_date(value, fmt) == expected


def test_format_date_default_pattern() -> None:
    assert format_date("2024-12-31T23:59:00") == "2024-12-31"


def test_format_date_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        format_date("next tuesday")


def test_uuid_is_a_fresh_uuid4() -> None:
    a, b = functions.uuid(), functions.uuid()
    assert uuid.UUID(a).version == 4 and a != b


def test_describe_lists_name_doc_and_params() -> None:
    described = {item["name"]: item for item in describe()}
    assert set(described) >= BUILT_INS
    assert described["get"] == {
        "name": "get",
        "doc": "Value at a dotted path (`a.b.0.c`) in nested objects and lists, else `default`.",
        "params": ["obj", "path", "default"],
    }
    assert described["now"]["params"] == []
    assert [item["name"] for item in describe()] == sorted(described)


@pytest.mark.parametrize(("expression", "expected"), [
    ("vars.xs | first", 3), ("first(vars.xs)", 3), ("vars.xs | last", 2),
    ("vars.xs | length", 3), ("length(vars.xs)", 3), ("vars.xs | sum", 6),
    ("vars.doc | get('a.b')", 1), ("get(vars.doc, 'a.zz', 'd')", "d"),
    ("vars.lines | sum('n')", 5), ("format_date(0, '%Y')", "1970"),
])
def test_functions_in_expressions(expression: str, expected: object) -> None:
    scope = {"vars": {"xs": [3, 1, 2], "doc": {"a": {"b": 1}}, "lines": [{"n": 2}, {"n": 3}]}}
    assert evaluate(expression, scope) == expected


def test_uuid_and_now_as_globals() -> None:
    assert uuid.UUID(evaluate("uuid()", {})).version == 4
    assert evaluate("now()", {}).endswith("+00:00")


def test_decorator_registers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(functions, "REGISTRY", {})

    @functions.function("double")
    def double(x: int) -> int:
        return x * 2

    registered = functions.REGISTRY
    assert registered == {"double": double}
    assert double(4) == 8


def test_load_modules_imports_registering_modules(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    (tmp_path / "waybill_test_extra_fns.py").write_text(
        "from backend.engine.functions import function\n\n"
        "@function('shout')\n"
        "def shout(text):\n"
        "    '''Upper case.'''\n"
        "    return text.upper()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(functions, "REGISTRY", {})
    monkeypatch.delitem(sys.modules, "waybill_test_extra_fns", raising=False)
    functions.load_modules(["waybill_test_extra_fns"])
    assert functions.REGISTRY["shout"]("hi") == "HI"
    assert describe() == [{"name": "shout", "doc": "Upper case.", "params": ["text"]}]
    sys.modules.pop("waybill_test_extra_fns", None)


def test_load_modules_with_an_unknown_module_raises() -> None:
    with pytest.raises(ModuleNotFoundError):
        functions.load_modules(["waybill_no_such_module_xyz"])
