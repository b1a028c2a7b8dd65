"""Validation meets hostile expressions: answered quickly, as problems, never as a crash."""

from __future__ import annotations

import time

from backend.blueprints.graph import Catalog, broken_templates, validate
from backend.engine.format import ApiCallSpec
from tests.blueprints.factories import blueprint, call, chain, doc, end, fn, linear, start

RECURSIVE = "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"


def test_a_number_too_long_is_a_bad_expression() -> None:
    data = blueprint([start(), end(result="9" * 5000)], chain("start", "end"))
    found = validate(doc(data), Catalog())
    assert [(p.code, p.node) for p in found] == [("bad_expression", "end")]
    assert "a number is too long" in found[0].message


def test_validation_does_not_evaluate_expressions() -> None:
    started = time.perf_counter()
    data = linear(fn("f", "first", args={"items": "[9**(9**7), 'a' * 10**8]"}))
    validate(doc(data), Catalog(functions=frozenset({"first"})))
    assert time.perf_counter() - started < 0.5


def test_a_recursive_macro_in_an_api_call_template_is_a_problem() -> None:
    spec = ApiCallSpec(id="rec", name="rec", url="https://api.example.com/x", method="POST",
                       body={"text": RECURSIVE})
    assert broken_templates(spec) == [RECURSIVE]
    found = validate(doc(linear(call("c", "rec"))), Catalog(api_calls={"rec": spec}))
    assert [(p.code, p.node) for p in found] == [("bad_expression", "c")]
