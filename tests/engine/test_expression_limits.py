"""What one user expression may cost: every attack found by the probe ends in a bounded
failure (an `ExpressionLimit`, an `ExpressionError`), quickly and without a memory blow-up;
compiling never evaluates; normal expressions keep working."""

from __future__ import annotations

import contextvars
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from backend.engine import limits
from backend.engine.expressions import (
    ENV,
    ExpressionError,
    ExpressionLimit,
    evaluate,
    parse_error,
    reads_of,
    render,
    undeclared_names,
)

SECONDS = 1.0
MEGABYTES = 50


@contextmanager
def bounded(seconds: float = SECONDS, megabytes: float = MEGABYTES) -> Iterator[None]:
    """The block must finish within `seconds`, with a traced memory peak under `megabytes`."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    assert peak < megabytes, f"peaked at {peak:.0f} MB"


def refused(run: Callable[[], Any], match: str | None = None) -> str:
    with bounded(), pytest.raises(ExpressionLimit, match=match) as caught:
        run()
    return str(caught.value)


# -- 1. compiling evaluates nothing ----------------------------------------------------------


@pytest.mark.parametrize("source", [
    "{{ 9**(9**7) }}",
    "{{ 'a'|center(10**8) }}",
    "{{ 'a' * 10**8 }}",
    "{{ '%100000000d' % 1 }}",
    "{{ '%*d' % (10**8, 1) }}",
    "{{ [1]|batch(10**8, 0)|list }}",
    "x{{ 'a' ~ 'b'|indent(10**8) }}y",
])
def test_compiling_a_template_evaluates_nothing(source: str) -> None:
    with bounded(seconds=0.5, megabytes=5):
        assert parse_error(source, template=True) is None


@pytest.mark.parametrize("source", ["9**(9**7)", "'a'|center(10**8)", "'a' * 10**8",
                                    "'%100000000d' % 1"])
def test_compiling_an_expression_evaluates_nothing(source: str) -> None:
    with bounded(seconds=0.5, megabytes=5):
        assert parse_error(source) is None


def test_operators_are_left_to_run_time() -> None:
    code = ENV.compile("{{ 1 + 2 }}{{ 'a' ~ 'b' }}", raw=True)
    assert "call_binop(context, '+', 1, 2)" in code
    assert "'3'" not in code and "'ab'" not in code
    assert ENV.optimized is False
    assert ENV.intercepted_binops >= {"+", "-", "*", "/", "//", "%", "**"}


# -- 2. bounded operations ----------------------------------------------------------------------


@pytest.mark.parametrize(("source", "match"), [
    ("9**(9**7)", "bits"),
    ("2 ** 100000", "bits"),
    ("(2 ** 4000) * (2 ** 4000)", "bits"),
    ("'a' * 10**8", r"'a' \* 100000000 would make a value of 100,000,000 characters "
                    r"\(the limit is 1,000,000\)"),
    ("10**8 * 'a'", "100,000,000 characters"),
    ("[0] * 10**8", "100,000,000 items"),
    ("'a'.center(10**8)", "center"),
    ("'a'.ljust(10**8)", "ljust"),
    ("'a'.rjust(10**8)", "rjust"),
    ("'a'.zfill(10**8)", "zfill"),
    ("('\t' * 1000).expandtabs(10**6)", "expandtabs"),
    ("('a' * 1000).replace('a', 'b' * 10000)", "replace"),
    ("('a' * 1000).replace('', 'b' * 10000)", "replace"),
    ("('x' * 1000).join(['y' * 1000] * 1000)", "join"),
    ("(1).to_bytes(10**9, 'big')", "to_bytes"),
    ("'{:>100000000}'.format(1)", "format"),
    ("'{:{}}'.format(1, 10**8)", "format"),
    ("'{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}'.format('a' * 500000)", "format"),
    ("'{x:>100000000}'.format_map({'x': 1})", "format"),
    ("'%100000000d' % 1", "width"),
    ("'%.100000000f' % 1.5", "width"),
    ("'%*d' % (10**8, 1)", r"'\*' width"),
    ("('%(a)s' * 100000) % {'a': 'x' * 1000}", "'%'"),
    ("'a'|center(10**8)", "center"),
    ("'a'|indent(10**8)", "indent"),
    ("('a\n' * 1000)|indent(10000)", "indent"),
    ("range(1000)|join('x' * 10000)", "join"),
    ("[1]|batch(10**8, 0)|list", "batch"),
    ("[1]|slice(10**8)|list", "slice"),
    ("'%100000000d'|format(1)", "width"),
    ("('a' * 1000)|replace('a', 'b' * 10000)", "replace"),
    ("('a ' * 400000)|wordwrap(1)", "wordwrap"),
    ("('a ' * 400000)|urlize", "urlize"),
    ("lipsum(100000)", "paragraphs"),
    ("lipsum(1, max=10**6)", "words"),
    ("{}.fromkeys(range(100000), 'x' * 1000)", "counting everything inside"),
    ("([1] * 200000) | sort", "sort"),
])
def test_expressions_that_would_blow_up_are_refused(source: str, match: str) -> None:
    refused(lambda: evaluate(source, {}), match)


def test_lipsum_of_a_large_input_is_refused() -> None:
    refused(lambda: evaluate("lipsum(input.n)", {"input": {"n": 30_000}}), "paragraphs")


def test_a_string_doubling_in_a_loop_is_refused() -> None:
    source = ("{% set ns = namespace(x='a') %}{% for i in range(40) %}"
              "{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}")
    message = refused(lambda: render(source, {}), "'~' would make a value of 1,048,576")
    assert "the limit is 1,000,000" in message


def test_a_list_doubling_in_a_loop_is_refused() -> None:
    source = ("{% set ns = namespace(x=[1]) %}{% for i in range(40) %}"
              "{% set ns.x = ns.x + ns.x %}{% endfor %}{{ ns.x|length }}")
    refused(lambda: render(source, {}), "items")


def test_shared_parts_cannot_hide_a_huge_value() -> None:
    """[x, x] holds x twice: small in memory, huge to print, compare or store."""
    source = ("{% set a = [1] * 1000 %}{% set b = [a] * 1000 %}{% set c = [b, b] %}"
              "{% set d = [c, c] %}{% set e = [d, d] %}{% set f = [e, e] %}{{ [f, f] }}")
    refused(lambda: render(source, {}), "counting everything inside")
    refused(lambda: evaluate("[[[1] * 1000] * 1000] * 5", {}), "counting everything inside")


def test_nested_loops_run_out_of_time() -> None:
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    message = refused(lambda: render(source, {}), "took longer than")
    assert f"{limits.TIME_BUDGET} s" in message


def test_a_loop_over_too_many_items_is_refused() -> None:
    scope = {"input": {"items": list(range(200_000))}}
    refused(lambda: render("{% for i in input['items'] %}{% endfor %}", scope), "loop")


def test_output_buffered_in_a_block_is_counted() -> None:
    """{% set %} blocks and macros buffer their output before any size check can see it."""
    scope = {"big": "z" * 1_000_000}
    refused(lambda: render("{% set x %}{% for i in range(100000) %}{{ big }}{% endfor %}"
                           "{% endset %}{{ x|length }}", scope), "in all")
    literal_text = "y" * 10_000
    refused(lambda: render("{% set x %}{% for i in range(100000) %}" + literal_text
                           + "{% endfor %}{% endset %}{{ x|length }}", {}), "in all")
    refused(lambda: render("{% macro m() %}{% for i in range(100000) %}{{ big }}{% endfor %}"
                           "{% endmacro %}{{ m()|length }}", scope), "in all")


def test_a_recursive_loop_without_end_is_stopped() -> None:
    refused(lambda: render("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", {}),
            "recursing too deeply")


# -- 3. the size of a template's text -----------------------------------------------------------


def test_a_template_text_over_the_limit_is_refused() -> None:
    source = "{% for i in range(20000) %}" + "0123456789" * 10 + "{% endfor %}"
    refused(lambda: render(source, {}), "longer than 1,000,000 characters")


def test_writing_out_a_huge_value_is_refused() -> None:
    scope = {"vars": {"xs": ["x" * 1000] * 2000}}
    refused(lambda: render("items: {{ vars.xs }}", scope), "writing out")


# -- 4. the budget ----------------------------------------------------------------------------


def test_nested_calls_share_the_outer_deadline() -> None:
    token = limits.start()
    try:
        budget = limits._BUDGET.get()
        assert budget is not None
        budget.deadline = 0  # the outer evaluation is out of time
        with pytest.raises(ExpressionLimit, match="took longer"):
            evaluate("input.country == 'US'", {"input": {"country": "US"}})
        with pytest.raises(ExpressionLimit, match="took longer"):
            render({"a": "{{ input.country }}!"}, {"input": {"country": "US"}})
    finally:
        limits.stop(token)
    assert limits._BUDGET.get() is None
    assert evaluate("input.country == 'US'", {"input": {"country": "US"}}) is True


def test_limits_are_expression_errors() -> None:
    assert issubclass(ExpressionLimit, ExpressionError)
    with pytest.raises(ExpressionError):
        evaluate("'a' * 10**8", {})


def test_a_recursing_macro_at_run_time_is_an_expression_error() -> None:
    refused(lambda: render("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", {}),
            "recursing too deeply")
    refused(lambda: render("{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}", {}),
            "recursing too deeply")


# -- numbers too long to parse ----------------------------------------------------------------

LONG = "9" * 5000


@pytest.mark.parametrize(("source", "template"), [
    (LONG, False), ("{{ " + LONG + " }}", True), ("x {{ [1, " + LONG + "] }}", True),
    ("9" * 2000, False), ("-" + "9" * 2000, False), ("0x" + "f" * 5000, False),
    ("{{ 0x" + "f" * 2000 + " }}", True),
])
def test_a_number_too_long_is_a_parse_error(source: str, template: bool) -> None:
    with bounded():
        error = parse_error(source, template=template)
    assert error is not None and "a number is too long" in error
    with pytest.raises(ExpressionError, match="a number is too long"):
        undeclared_names(source, template=template)
    with pytest.raises(ExpressionError, match="a number is too long"):
        reads_of(source, "vars", template=template)


def test_a_number_too_long_fails_evaluation_as_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="a number is too long"):
        evaluate(LONG, {})
    with pytest.raises(ExpressionError, match="a number is too long"):
        render("x {{ " + LONG + " }}", {})
    with pytest.raises(ExpressionError, match="a number is too long"):
        render("{{ " + LONG + " }}", {})


def test_a_number_within_the_limit_parses() -> None:
    assert parse_error("9" * 1000) is None
    assert evaluate("9" * 1000, {}) == int("9" * 1000)


# -- 5. recursive macros are refused when saved ----------------------------------------------------


@pytest.mark.parametrize(("source", "match"), [
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "the macro 'f' calls itself"),
    ("{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}",
     "the macro 'a' → the macro 'b' → the macro 'a'"),
    ("{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}", "the macro 'f' calls itself"),
    ("{% macro f() %}{% call f() %}x{% endcall %}{% endmacro %}{{ f() }}", "'f' calls itself"),
    ("{% macro f() %}{{ caller() }}{% endmacro %}"
     "{% macro g() %}{% call f() %}{{ g() }}{% endcall %}{% endmacro %}{{ g() }}", "cycle"),
    ("{% macro a() %}{% macro b() %}{{ a() }}{% endmacro %}{{ b() }}{% endmacro %}{{ a() }}",
     "cycle"),
    ("{% block a %}{{ self.a() }}{% endblock %}", "the block 'a' calls itself"),
    ('{% macro h() %}{{ d.k() }}{% endmacro %}{% set d = {"k": h} %}{{ h() }}', "'h' calls itself"),
])
def test_a_recursive_macro_is_a_parse_error(source: str, match: str) -> None:
    error = parse_error(source, template=True)
    assert error is not None and match in error, error
    assert "recursive macros are not allowed" in error


@pytest.mark.parametrize("source", [
    "{% macro a() %}x{% endmacro %}{% macro b() %}{{ a() }}{{ a() }}{% endmacro %}{{ b() }}",
    "{% macro item(x) %}<{{ x }}>{% endmacro %}{% macro each(xs, f) %}{% for x in xs %}"
    "{{ f(x) }}{% endfor %}{% endmacro %}{{ each([1, 2], item) }}",
    "{% macro f(g) %}{{ g() }}{% endmacro %}{% macro g() %}{{ f(1) }}{% endmacro %}",
    "{% macro w() %}[{{ caller(5) }}]{% endmacro %}{% call(n) w() %}n={{ n }}{% endcall %}",
    "{% block a %}x{% endblock %}{% block b %}{{ self.a() }}{% endblock %}",
    "{% for x in args.tree recursive %}{{ x.id }}{{ loop(x.kids) }}{% endfor %}",
])
def test_macros_that_do_not_recurse_are_fine(source: str) -> None:
    assert parse_error(source, template=True) is None


# -- 6. normal expressions still work ----------------------------------------------------------

SCOPE = {
    "input": {"country": "US", "n": 3, "items": [{"sku": "a", "n": 2}, {"sku": "b", "n": 3}]},
    "vars": {"tags": ["x", "y"], "doc": {"k": 1, "j": 2}, "tree": [{"id": 1, "kids": [
        {"id": 2, "kids": []}]}]},
}


@pytest.mark.parametrize(("source", "expected"), [
    ("2 ** 10 + 7 // 2 - 7 % 3 * 2", 1025),
    ("1 / 4", 0.25),
    ("2 ** 4000 > 0", True),
    ("'ab' * 3", "ababab"),
    ("[1] * 3 + [2]", [1, 1, 1, 2]),
    ("(1, 2) + (3,)", [1, 2, 3]),
    ("'%05.1f|%-4s|%x' % (3.14159, 'ab', 255)", "003.1|ab  |ff"),
    ("'%(a)s-%(b)d' % {'a': 'x', 'b': 2}", "x-2"),
    ("'{:>6}|{:.2f}|{name}'.format('r', 2.5, name='n')", "     r|2.50|n"),
    ("'{a}'.format_map({'a': 1})", "1"),
    ("'x'.center(5) ~ '|' ~ 'ab'.ljust(4, '.') ~ '|' ~ '7'.zfill(3)", "  x  |ab..|007"),
    ("'a-b'.replace('-', '+') ~ ' ' ~ ','.join(['p', 'q'])", "a+b p,q"),
    ("range(5)|list", [0, 1, 2, 3, 4]),
    ("range(10)|batch(4)|list", [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]),
    ("range(5)|slice(2)|list", [[0, 1, 2], [3, 4]]),
    ("input['items']|map(attribute='sku')|join('+')", "a+b"),
    ("input['items']|sum(attribute='n')", 5),
    ("[3, 1, 2]|sort", [1, 2, 3]),
    ("vars.tags|join(', ')", "x, y"),
    ("'ab'|center(6)", "  ab  "),
    ("'a\nb'|indent(2)", "a\n  b"),
    ("'%s=%d'|format('n', 3)", "n=3"),
    ("'long text here'|truncate(9, leeway=0)", "long..."),
    ("{'k': vars.doc.k, 'l': [1, input.country]}", {"k": 1, "l": [1, "US"]}),
    ("'a' ~ 1 ~ none", "a1None"),
    ("lipsum(2, html=False)|wordcount > 10", True),
    ("(255).to_bytes(2, 'big')", b"\x00\xff"),
    ("12345678|filesizeformat", "12.3 MB"),
    ("input.country == 'US'", True),
])
def test_normal_expressions_still_work(source: str, expected: Any) -> None:
    assert evaluate(source, SCOPE) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("{% for i in vars.tags %}{{ loop.index }}/{{ loop.length }}{{ i }}"
     "{% if loop.last %}!{% endif %}{% endfor %}", "1/2x2/2y!"),
    ("{% for i in input['items'] if i.n > 2 %}{{ i.sku }}{% else %}none{% endfor %}", "b"),
    ("{% for k, v in vars.doc|dictsort %}{{ k }}={{ v }};{% endfor %}", "j=2;k=1;"),
    ("{% for x in vars.tree recursive %}{{ x.id }}[{{ loop(x.kids) }}]{% endfor %}", "1[2[]]"),
    ("{% for i in range(3) %}{{ loop.cycle('a', 'b') }}{% endfor %}", "aba"),
    ("{% macro m(x, y=2) %}<{{ x ~ y }}>{% endmacro %}{{ m(1) }}{{ m(3, y='z') }}", "<12><3z>"),
    ("{% macro w() %}[{{ caller(5) }}]{% endmacro %}{% call(n) w() %}n={{ n }}{% endcall %}",
     "[n=5]"),
    ("{% filter upper %}abc {{ vars.tags|join(',') }}{% endfilter %}", "ABC X,Y"),
    ("{% set ns = namespace(t=0) %}{% for i in range(input.n) %}{% set ns.t = ns.t + i %}"
     "{% endfor %}{{ ns.t }}", "3"),
    ("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = ns.l + [i] %}"
     "{% endfor %}{{ ns.l|length }}", "1000"),
    ("{{ lipsum(2)|length > 0 }} and {{ range(3)|join('-') }}", "True and 0-1-2"),
    ("https://api/{{ input.country }}/{{ '%03d' % input.n }}", "https://api/US/003"),
])
def test_normal_templates_still_work(template: str, expected: str) -> None:
    assert render(template, SCOPE) == expected


def test_a_large_but_allowed_value_works() -> None:
    assert len(evaluate("'a' * 1000000", {})) == 1_000_000
    assert len(render("{% for i in range(50000) %}0123456789{% endfor %}", {})) == 500_000
    assert evaluate("range(100000)|list|length", {}) == 100_000


def test_the_time_budget_is_the_evaluating_threads_own():
    """Other threads of the process at work meanwhile do not use up an evaluation's time (the
    process's clock once failed a worker's `{{ order.id }}` while a client thread was busy)."""
    def burn() -> None:
        end = time.thread_time() + 0.4
        while time.thread_time() < end:
            pass

    token = limits.start()
    try:
        busy = threading.Thread(target=burn)
        busy.start()
        busy.join()  # 0.4 s of the process's processor time, none of this thread's
        limits.tick()
    finally:
        limits.stop(token)


def test_a_budget_carried_into_another_thread_is_that_threads_own():
    token = limits.start()
    opened: list[object] = []

    def evaluate_there() -> None:
        inner = limits.start()  # the context came along, its budget on another clock
        opened.append(inner)
        assert render("{{ 1 + 1 }}", {}) == 2
        limits.stop(inner)

    try:
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(evaluate_there,))
        worker.start()
        worker.join()
    finally:
        limits.stop(token)
    assert opened and opened[0] is not None
