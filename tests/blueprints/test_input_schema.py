"""A read of `input.x` where the input_schema declares its properties and `x` is not one of
them is a problem pinned on the node (expressions and the API call's templates alike)."""

from __future__ import annotations

from backend.blueprints.graph import validate
from tests.blueprints.factories import (
    blueprint,
    call,
    catalog,
    condition,
    doc,
    edge,
    end,
    linear,
    start,
)

SCHEMA = {"type": "object", "properties": {"ticket_id": {"type": "string"},
                                           "country": {"type": "string"}}}


def unknown_inputs(data: dict) -> list[tuple[str | None, str]]:
    return [(p.node, p.message) for p in validate(doc(data), catalog())
            if p.code == "unknown_input"]


def test_an_undeclared_input_read_is_pinned_on_its_node() -> None:
    nodes = [start(), condition("check", "input.countyr == 'US'"), end("yes"), end("no")]
    edges = [edge("start", "check"), edge("check", "yes", "true"), edge("check", "no", "false")]
    assert unknown_inputs(blueprint(nodes, edges, input_schema=SCHEMA)) == [
        ("check", "This step reads input.countyr, but the input schema has no such property "
                  "(it has country and ticket_id).")]


def test_declared_inputs_and_schemas_without_properties_pass() -> None:
    reads = call("make", "create-return", args={"ticket_id": "input.ticket_id"},
                 save={"where": "input.country"})
    assert unknown_inputs(linear(reads, input_schema=SCHEMA | {
        "properties": SCHEMA["properties"] | {"reason": {"type": "string"}}})) == []
    assert unknown_inputs(linear(call("any", "plain", args={"x": "input.whatever"}))) == []


def test_the_api_calls_templates_count_too() -> None:
    # create-return's body renders `{{ input.reason }}`, which this schema does not declare
    reads = call("make", "create-return", args={"ticket_id": "input.ticket_id"})
    assert unknown_inputs(linear(reads, input_schema=SCHEMA)) == [
        ("make", "This step reads input.reason, but the input schema has no such property "
                 "(it has country and ticket_id).")]


def test_iri_formats_are_checked_though_their_parser_loads_late() -> None:
    """`backend._deferred` puts off rfc3987_syntax's 3 s import; the formats still hold."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({"type": "string", "format": "iri"},
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert not list(validator.iter_errors("https://example.com/ü"))
    assert [error.message for error in validator.iter_errors("https://exa mple.com/")] == [
        "'https://exa mple.com/' is not a 'iri'"]
