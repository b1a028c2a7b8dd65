"""Sandboxed Jinja expressions and templates: values, strictness, the sandbox, static analysis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.engine import expressions
from backend.engine.expressions import (
    ExpressionError,
    ExpressionSyntaxError,
    evaluate,
    parse_error,
    reads_of,
    render,
    template_sources,
    undeclared_names,
)
from backend.engine.functions import REGISTRY

SCOPE = {
    "input": {"country": "US", "total": 12.5, "items": [{"sku": "a"}, {"sku": "b"}]},
    "vars": {"n": 5, "flag": True, "tags": ["x", "y"], "doc": {"k": [1, 2]}, "none": None},
    "order": {"id": "o-1", "blueprint": "bp", "version": 2},
}


# -- evaluate ------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ("input.country == 'US'", True),
    ("input.country == 'CA'", False),
    ("input.total * 2", 25.0),
    ("vars.n + 1", 6),
    ("vars.n // 2", 2),
    ("vars.tags", ["x", "y"]),
    ("vars.doc", {"k": [1, 2]}),
    ("vars.doc.k[1]", 2),
    ("vars['n']", 5),
    ("vars.none", None),
    ("input['items'][0].sku", "a"),
    ("input['items'] | map(attribute='sku') | list", ["a", "b"]),
    ("order.id ~ ':' ~ order.version", "o-1:2"),
    ("'yes' if vars.flag else 'no'", "yes"),
    ("(1, 2)", [1, 2]),
    ("{'a': vars.n}", {"a": 5}),
    ("vars.get('missing', 'dflt')", "dflt"),
    ("'US' in ['US', 'CA']", True),
])
def test_evaluate_returns_native_values(source: str, expected: object) -> None:
    result = evaluate(source, SCOPE)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("source", "missing"), [
    ("nope", "“nope” is not defined here"),
    ("input.missing", r"there is no “missing” in this object \(it has country, total, items\)"),
    ("vars['absent']", "there is no “absent” in this object"),
    ("vars.doc.k[5]", r"the list has no element 5 \(it has 2\)"),
    ("input.country.code", "the text has no “code”"),
])
def test_strict_undefined_raises(source: str, missing: str) -> None:
    with pytest.raises(ExpressionError, match=missing):
        evaluate(source, SCOPE)


def test_undefined_inside_an_operation_raises() -> None:
    with pytest.raises(ExpressionError, match="“nope” is not defined here"):
        evaluate("nope + 1", {})


@pytest.mark.parametrize("source", ["1 / 0", "'a' + 1", "vars.n | int('x', 'y', 'z')"])
def test_runtime_errors_become_expression_errors(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, SCOPE)


def test_a_syntax_error_raises_expression_error() -> None:
    with pytest.raises(ExpressionError):
        evaluate("1 +", {})


# -- the sandbox ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "input.__class__",
    "input.__class__.__mro__",
    "().__class__.__bases__[0].__subclasses__()",
    "''.__class__",
    "now.__globals__",
    "input.country.__class__.__init__",
    "lipsum.__globals__",
    "cycler.__init__.__globals__",
])
def test_sandbox_blocks_dunder_access(source: str) -> None:
    with pytest.raises(ExpressionError, match="unsafe"):
        evaluate(source, SCOPE)


@pytest.mark.parametrize("source", ["vars.tags.append('z')", "vars.doc.update({})",
                                    "vars.doc.pop('k')", "vars.doc.clear()"])
def test_sandbox_blocks_mutation(source: str) -> None:
    scope = {"vars": {"tags": ["x"], "doc": {"k": 1}}}
    with pytest.raises(ExpressionError, match="unsafe"):
        evaluate(source, scope)
    assert scope == {"vars": {"tags": ["x"], "doc": {"k": 1}}}


def test_sandbox_blocks_huge_ranges() -> None:
    with pytest.raises(ExpressionError, match="Range too big"):
        evaluate("range(10 ** 9) | list", {})


def test_templates_are_sandboxed_too() -> None:
    with pytest.raises(ExpressionError, match="unsafe"):
        render("x {{ input.__class__ }}", SCOPE)


# -- render --------------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ vars.n }}", 5),
    ("{{vars.n}}", 5),
    ("  {{ vars.n }}  ", 5),
    ("{{ vars.tags }}", ["x", "y"]),
    ("{{ vars.flag }}", True),
    ("{{ vars.none }}", None),
    ("{{ vars.doc }}", {"k": [1, 2]}),
    ("{{ input.total }}", 12.5),
])
def test_single_expression_templates_keep_their_type(template: str, expected: object) -> None:
    result = render(template, SCOPE)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("template", "expected"), [
    ("n={{ vars.n }}", "n=5"),
    ("{{ vars.n }}/{{ vars.n }}", "5/5"),
    ("https://api/{{ order.id }}/items", "https://api/o-1/items"),
    ("{% if vars.flag %}on{% else %}off{% endif %}", "on"),
    ("{{ vars.tags | join(',') }} total", "x,y total"),
])
def test_mixed_templates_render_text(template: str, expected: str) -> None:
    assert render(template, SCOPE) == expected


@pytest.mark.parametrize("value", [7, 1.5, True, None, "plain text", "a } b", ""])
def test_values_without_templates_pass_through(value: object) -> None:
    assert render(value, SCOPE) == value


def test_dicts_and_lists_are_rendered_value_by_value() -> None:
    body = {"id": "{{ order.id }}", "n": "{{ vars.n }}", "list": ["{{ vars.flag }}", 3],
            "nested": {"text": "total {{ input.total }}"}, "keep": 1}
    assert render(body, SCOPE) == {"id": "o-1", "n": 5, "list": [True, 3],
                                   "nested": {"text": "total 12.5"}, "keep": 1}


def test_values_from_data_are_not_rendered_again() -> None:
    scope = {"vars": {"comment": "{{ 7 * 7 }}"}}
    assert render("{{ vars.comment }}", scope) == "{{ 7 * 7 }}"
    assert render("said: {{ vars.comment }}", scope) == "said: {{ 7 * 7 }}"


def test_render_strict_undefined_raises() -> None:
    with pytest.raises(ExpressionError, match="“missing” is not defined here"):
        render("x/{{ missing }}", {})
    with pytest.raises(ExpressionError, match="“missing” is not defined here"):
        render("{{ missing }}", {})


def test_render_syntax_error_raises() -> None:
    with pytest.raises(ExpressionError):
        render("x {{ vars.n ", SCOPE)


# -- static analysis -----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["input.a == 1", "vars.xs | first", "first(vars.xs)",
                                    "[1, 2][0]", "a if b else c"])
def test_parse_error_none_for_good_expressions(source: str) -> None:
    assert parse_error(source) is None


@pytest.mark.parametrize(("source", "message"), [
    ("1 +", "Unexpected end of the expression at column 4: expected a value after “+”"),
    ("input.a ==", "Unexpected end of the expression at column 11: expected a value after “==”"),
    ("1 2", "Unexpected “2” at column 3: expected an operator (like +, == or and) or the end "
            "of the expression"),
    ("input.a.", "Expected a name after “.” at column 9"),
    ("vars.x.  == 1", "Expected a name after “.” at column 10"),
    ("first(vars.xs))", "Unexpected “)” at column 15: there is no opening bracket for it to close"),
    ("f(a))", "Unexpected “)” at column 5: there is no opening bracket for it to close"),
    ("(a + )", "Unexpected “)” at column 6: expected an expression"),
    ("first(vars.xs", "Unexpected end of the expression at column 14: expected “)” to close the "
                      "“(” at column 6"),
    ("[1 2]", "Unexpected “2” at column 4: expected “,” or “]”"),
    ("(1]", "Unexpected “]” at column 3: expected “)” to close the “(” at column 1"),
    ("a $ b", "Unexpected “$” at column 3: expected a name, a number, text in quotes or an "
              "operator"),
    ("input.c == 'US", "The text in quotes that starts at column 12 is never closed: expected a "
                       "closing '"),
    ("vars.x | no_such_filter", "Unknown function “no_such_filter” at column 10: expected the "
                                "name of a registered function"),
    ("{{ x }}", "An expression is written without “{{ }}” around it (those are for templates)"),
    ("", "Unexpected end of the expression at column 1: expected an expression"),
    ("a +\n  * b", "Unexpected “*” at line 2, column 3: expected an expression"),
])
def test_parse_error_explains(source: str, message: str) -> None:
    assert parse_error(source) == message


@pytest.mark.parametrize(("source", "template", "line", "column", "expected"), [
    ("input.a. == 1", False, 1, 10, "a name"),
    ("f(1, 2", False, 1, 7, "“)”"),
    ("x\n  + )", False, 2, 5, ""),
    ("https://x/{{ args.id", True, 1, 21, "“}}”"),
    ("a\n{% if x %}b", True, 2, 12, "{% endif %}"),
    ("id {{ x | nope }}", True, 1, 11, "the name of a registered function"),
])
def test_syntax_errors_carry_their_position_and_expectation(
        source: str, template: bool, line: int, column: int, expected: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        (render if template else evaluate)(source, SCOPE)
    assert (caught.value.line, caught.value.column, caught.value.expected) == (
        line, column, expected)
    assert f"column {column}" in str(caught.value)


@pytest.mark.parametrize(("source", "message"), [
    ("https://x/{{ args.id", "Unexpected end of the template at column 21: expected “}}”"),
    ("{% if x %}", "Unexpected end of the template at column 11: the “{% if %}” block is never "
                   "closed, expected “{% endif %}”"),
    ("a {{ b + }} c", "Unexpected “}}” at column 10: expected an expression"),
    ("x {% foo %}", "Unknown tag “foo” at column 6: expected a tag like if, for or set"),
])
def test_template_parse_errors_explain(source: str, message: str) -> None:
    assert parse_error(source, template=True) == message


@pytest.mark.parametrize(("source", "ok"), [
    ("https://x/{{ args.id }}", True),
    ("{% for i in args.xs %}{{ i }}{% endfor %}", True),
    ("plain", True),
    ("{{ args.id", False),
    ("{% if x %}", False),
    ("{{ x | nope }}", False),
])
def test_parse_error_for_templates(source: str, ok: bool) -> None:
    assert (parse_error(source, template=True) is None) is ok


def test_undeclared_names_leave_out_functions() -> None:
    assert undeclared_names("first(vars.xs) + length(input.items) + now()") == {"vars", "input"}
    assert undeclared_names("vars.xs | last") == {"vars"}
    assert undeclared_names("[1, 2]") == set()


def test_undeclared_names_in_templates_leave_out_local_names() -> None:
    source = "{% set y = 1 %}{% for i in args.xs %}{{ i }}{{ y }}{% endfor %}{{ node.id }}"
    assert undeclared_names(source, template=True) == {"args", "node"}


@pytest.mark.parametrize(("source", "expected"), [
    ("vars.a", {"a"}),
    ("vars['b']", {"b"}),
    ("vars.a.b.c", {"a"}),
    ("vars.get('c')", set()),
    ("vars.get('c', 1) + vars.d", {"d"}),
    ("input.a + order.b", set()),
    ("x.vars.a", set()),
    ("vars[input.key]", set()),
    ("[vars.a, vars.b, vars.a]", {"a", "b"}),
])
def test_reads_of_vars(source: str, expected: set) -> None:
    assert reads_of(source, "vars") == expected


def test_reads_of_in_templates() -> None:
    source = "{{ vars.a }}/{% if vars.b %}{{ vars.get('c') }}{% endif %}{{ args.id }}"
    assert reads_of(source, "vars", template=True) == {"a", "b"}
    assert reads_of(source, "args", template=True) == {"id"}


def test_template_sources_walks_dicts_and_lists() -> None:
    value = {"a": "one", "b": ["two", 3, {"c": "four"}], "d": None, "e": 5}
    assert template_sources(value) == ["one", "two", "four"]
    assert template_sources("solo") == ["solo"]
    assert template_sources(None) == []


# -- functions registered later ------------------------------------------------------------


@pytest.fixture
def shout() -> Iterator[None]:
    REGISTRY["shout_test"] = lambda text: str(text).upper()
    expressions.refresh_functions()
    yield
    del REGISTRY["shout_test"]
    for table in (expressions.ENV.filters, expressions.ENV.globals):
        table.pop("shout_test", None)
    expressions.refresh_functions()


def test_refresh_functions_picks_up_new_functions(shout: None) -> None:
    assert evaluate("'hi' | shout_test", {}) == "HI"
    assert evaluate("shout_test('a')", {}) == "A"
    assert parse_error("'x' | shout_test") is None
    assert undeclared_names("shout_test(vars.x)") == {"vars"}


def test_a_var_named_like_a_dict_method_reads_the_var() -> None:
    assert evaluate("vars.items", {"vars": {"items": [1, 2]}}) == [1, 2]


def test_parse_error_survives_deep_nesting() -> None:
    assert parse_error("[" * 3000 + "]" * 3000) is not None


PATH_SCOPE = {"input": {"value": 1, "items": [1, 2], "pair": (1, 2), "deep": {"a": {"b": None}},
                        "keys": "k"},
              "vars": {"last": {"step": 3}}, "response": {"body": "text"}}


@pytest.mark.parametrize("source", [
    "input.value", "input.items", "input.pair", "input.deep.a.b", "vars.last.step", "input",
    " input . value ", "response.body", "input.keys",  # the data, not the dict method
    "input.nope", "nope", "vars.last.step.more", "response.body.upper", "input.items.count",
    "true", "none", "len",
])
def test_a_bare_path_is_looked_up_as_the_template_would(source):
    """Paths take a direct lookup; in parentheses the same expression runs as a template:
    the two agree on the value, and on the error when there is none."""
    def outcome(text):
        try:
            return ("value", expressions.evaluate(text, PATH_SCOPE))
        except ExpressionError as exc:
            return ("error", str(exc).split(": ", 1)[1])

    assert expressions._path(f"({source})") is None
    assert outcome(source) == outcome(f"({source})")
