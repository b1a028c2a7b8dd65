"""Flow control in `graph.validate`: for_each and sub_blueprint children, parallel branches
and their joins. Every rule with one failing and one passing blueprint, then scopes and
dataflow; then the catalog's child blueprints as the database and the CLI build them."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from sqlalchemy import event

from backend.blueprints import graph
from backend.blueprints.cli import validate_files
from backend.blueprints.graph import ChildBlueprint, validate
from backend.blueprints.service import load_catalog
from tests.blueprints.factories import (
    blueprint,
    call,
    chain,
    condition,
    doc,
    edge,
    end,
    fn,
    for_each,
    fork,
    join,
    linear,
    node,
    parallel,
    sleep,
    start,
    sub_blueprint,
)
from tests.blueprints.factories import catalog as base_catalog

LINE_SCHEMA = {"type": "object", "required": ["sku"], "additionalProperties": False,
               "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"},
                              "price": {"type": "number"}, "ref": {"type": ["string", "null"]}}}
CHILDREN = {
    "line": ChildBlueprint(True, LINE_SCHEMA),
    "label": ChildBlueprint(True, {}),
    "drafted": ChildBlueprint(False),
    "outer": ChildBlueprint(True, {}, frozenset({"middle"})),
    "middle": ChildBlueprint(True, {}, frozenset({"bp"})),  # runs the blueprint under test
}
CODES = (
    "parallel_branches", "bad_items", "unknown_blueprint", "unpublished_blueprint", "child_input",
    "blueprint_contains_itself", "parallel_without_join", "join_shared", "orphan_join",
    "branch_crossing", "parallel_write_conflict",
)


def catalog(children: dict[str, ChildBlueprint] | None = None) -> graph.Catalog:
    return replace(base_catalog(), blueprints=CHILDREN if children is None else children)


def problems(data: dict, children: dict[str, ChildBlueprint] | None = None) -> list[tuple]:
    return sorted(((p.code, p.node, p.edge) for p in validate(doc(data), catalog(children))),
                  key=repr)


def messages(data: dict, code: str) -> list[str]:
    return [p.message for p in validate(doc(data), catalog()) if p.code == code]


def two_branches(**fields: dict) -> dict:
    return fork([sleep("a")], [sleep("b")], **fields)


def pre_fork(failed_to: str) -> dict:
    """start -> pre -> fan -(a | b)-> meet -> end; pre's failed edge to `failed_to`."""
    oops = [end("oops", status="failed")] if failed_to == "oops" else []
    return blueprint([start(), call("pre"), parallel(), sleep("a"), sleep("b"), join(), end(),
                      *oops],
                     [*chain("start", "pre", "fan"), edge("fan", "a", "branch"),
                      edge("fan", "b", "branch"), *chain("a", "meet", "end"), edge("b", "meet"),
                      edge("pre", failed_to, "failed")])


def nested(inner_join: bool) -> dict:
    """start -> outer -(a -> inner -(b | c)-> [j2 ->]) | d -> meet -> end."""
    inner_end = "j2" if inner_join else "meet"
    nodes = [start(), parallel("outer"), sleep("a"), parallel("inner"), sleep("b"), sleep("c"),
             sleep("d"), join(), end(), *([join("j2")] if inner_join else [])]
    edges = [edge("start", "outer"), edge("outer", "a", "branch"), edge("outer", "d", "branch"),
             edge("a", "inner"), edge("inner", "b", "branch"), edge("inner", "c", "branch"),
             edge("b", inner_end), edge("c", inner_end), edge("d", "meet"), edge("meet", "end"),
             *([edge("j2", "meet")] if inner_join else [])]
    return blueprint(nodes, edges)


# (failing blueprint, every problem it has, the same blueprint fixed)
RULES = {
    "parallel_branches": (
        fork([sleep("a")]),
        [("orphan_join", "meet", None), ("parallel_branches", "fan", None)],
        two_branches(),
    ),
    "bad_items": (
        linear(for_each("each", "label", items="'a, b'")),
        [("bad_items", "each", None)],
        linear(for_each("each", "label", items="['a', 'b']")),
    ),
    "unknown_blueprint": (
        linear(sub_blueprint("child", "nowhere")),
        [("unknown_blueprint", "child", None)],
        linear(sub_blueprint("child", "label")),
    ),
    "unpublished_blueprint": (
        linear(sub_blueprint("child", "drafted")),
        [("unpublished_blueprint", "child", None)],
        linear(sub_blueprint("child", "label")),
    ),
    "child_input": (
        linear(for_each("each", "line")),
        [("child_input", "each", None)],
        linear(for_each("each", "line", input={"sku": "item.sku"})),
    ),
    "blueprint_contains_itself": (
        linear(sub_blueprint("again", "bp")),
        [("blueprint_contains_itself", "again", None)],
        linear(sub_blueprint("again", "label")),
    ),
    "parallel_without_join": (
        blueprint([start(), parallel(), sleep("a"), sleep("b"), end()],
                  [edge("start", "fan"), edge("fan", "a", "branch"), edge("fan", "b", "branch"),
                   edge("a", "end"), edge("b", "end")]),
        [("parallel_without_join", "fan", None)],
        two_branches(),
    ),
    "join_shared": (
        nested(inner_join=False),
        [("join_shared", "meet", None)],
        nested(inner_join=True),
    ),
    "orphan_join": (
        linear(join()),
        [("orphan_join", "meet", None)],
        two_branches(),
    ),
    "branch_crossing": (
        pre_fork(failed_to="b"),
        [("branch_crossing", None, ("pre", "b"))],
        pre_fork(failed_to="oops"),
    ),
    "parallel_write_conflict": (
        fork([call("a", save={"x": "response.body"})], [call("b", save={"x": "response.body"})]),
        [("parallel_write_conflict", "a", None), ("parallel_write_conflict", "b", None)],
        fork([call("a", save={"x": "response.body"})], [call("b", save={"y": "response.body"})],
             last=end(result="[vars.x, vars.y]")),
    ),
}


def test_every_flow_code_has_a_rule_case_and_is_documented() -> None:
    assert set(RULES) == set(CODES)
    assert all(code in graph.__doc__ for code in CODES)


@pytest.mark.parametrize("code", CODES)
def test_flow_rule_fails(code: str) -> None:
    bad, expected, _ = RULES[code]
    assert problems(bad) == sorted(expected, key=repr)


@pytest.mark.parametrize("code", CODES)
def test_flow_rule_passes_when_fixed(code: str) -> None:
    _, _, good = RULES[code]
    assert problems(good) == []


def test_every_flow_problem_has_a_message() -> None:
    for code in CODES:
        found = validate(doc(RULES[code][0]), catalog())
        assert found and all(problem.message.strip() for problem in found)


# -- edges and fields ----------------------------------------------------------------------


def test_a_parallel_has_many_branch_edges_but_one_failed() -> None:
    data = fork([sleep("a")], [sleep("b")], [sleep("c")], extra=[end("oops"), end("oops2")],
                edges=[edge("fan", "oops", "failed"), edge("fan", "oops2", "failed")])
    assert problems(data) == [("duplicate_edge", "fan", None)]


def test_two_branch_edges_to_one_node_are_one_branch() -> None:
    data = fork([sleep("a")], edges=[edge("fan", "a", "branch")])
    assert problems(data) == [("duplicate_edge", "fan", None), ("orphan_join", "meet", None),
                              ("parallel_branches", "fan", None)]


def test_a_parallel_without_branches_needs_them() -> None:
    data = blueprint([start(), parallel(), end()], [edge("start", "fan")])
    assert ("parallel_branches", "fan", None) in problems(data)
    assert ("dead_end", "fan", None) not in problems(data)


def test_only_a_parallel_has_branch_edges() -> None:
    data = blueprint([start(), sleep("s"), end(), end("end2")],
                     [*chain("start", "s", "end"), edge("s", "end2", "branch")])
    assert problems(data) == [("bad_edge_kind", None, ("s", "end2"))]


def test_a_join_continues_along_next_only() -> None:
    data = two_branches(extra=[end("other")], edges=[edge("meet", "other", "branch")])
    assert problems(data) == [("bad_edge_kind", None, ("meet", "other"))]


@pytest.mark.parametrize(("bad_node", "count"), [
    (node("each", "for_each"), 2),
    (node("each", "for_each", blueprint="line"), 1),
    (node("each", "for_each", items="input.lines"), 1),
    (node("child", "sub_blueprint"), 1),
], ids=["for_each_without_both", "for_each_without_items", "for_each_without_blueprint",
        "sub_blueprint_without_blueprint"])
def test_missing_child_fields(bad_node: dict, count: int) -> None:
    found = [item for item in problems(linear(bad_node)) if item[0] == "missing_field"]
    assert found == [("missing_field", bad_node["id"], None)] * count


@pytest.mark.parametrize("items", ["'abc'", "42", "-1", "1.5", "{'a': 1}", "true", "none"])
def test_items_literal_that_is_not_a_list(items: str) -> None:
    assert problems(linear(for_each("each", "label", items=items))) == [
        ("bad_items", "each", None)]


@pytest.mark.parametrize("items", ["[1, 2]", "(1, 2)", "input.lines", "input.lines | list",
                                   "range(3) | list", "input.a ~ input.b"])
def test_items_that_may_be_a_list(items: str) -> None:
    assert problems(linear(for_each("each", "label", items=items))) == []


def test_bad_items_names_the_literal_kind() -> None:
    assert messages(linear(for_each("each", "label", items="42")), "bad_items") == [
        "The items must be a list (one child per element), but this is a whole number."]


# -- child blueprints ----------------------------------------------------------------------


@pytest.mark.parametrize(("mapped", "says"), [
    ({"qty": "item.qty"}, "The blueprint “line” needs the input sku: add it under Child input."),
    ({"sku": "item.sku", "colour": "item.colour"}, "takes no input named colour"),
    ({"sku": "42"}, "The child input “sku” is a whole number, but the blueprint “line” wants text."),
    ({"sku": "item.sku", "qty": "'three'"}, "The child input “qty” is text"),
    ({"sku": "item.sku", "price": "true"}, "The child input “price” is true or false"),
    ({"sku": "item.sku", "ref": "7"}, "wants none or text"),
], ids=["required_not_mapped", "unknown_key", "int_for_string", "string_for_integer",
        "bool_for_number", "int_for_nullable_string"])
def test_child_input_cannot_satisfy_the_schema(mapped: dict, says: str) -> None:
    data = linear(for_each("each", "line", input=mapped))
    assert problems(data) == [("child_input", "each", None)]
    assert says in messages(data, "child_input")[0]


@pytest.mark.parametrize("mapped", [
    {"sku": "item.sku"}, {"sku": "'abc'", "qty": "3", "price": "2"}, {"sku": "'a'", "price": "2.5"},
    {"sku": "'a'", "qty": "2.0"}, {"sku": "'a'", "ref": "none"}, {"sku": "item.sku ~ index"},
], ids=["expression", "literals", "float_for_number", "whole_float_for_integer",
        "null_for_nullable", "concatenation"])
def test_child_input_that_can_satisfy_the_schema(mapped: dict) -> None:
    assert problems(linear(for_each("each", "line", input=mapped))) == []


def test_a_child_without_a_schema_takes_any_input() -> None:
    assert problems(linear(sub_blueprint("child", "label", input={"x": "42", "y": "input"}))) == []


def test_a_blueprint_reaching_itself_through_others_names_the_path() -> None:
    data = linear(sub_blueprint("up", "outer"))
    assert problems(data) == [("blueprint_contains_itself", "up", None)]
    assert messages(data, "blueprint_contains_itself") == [
        "This would run the blueprint “bp” inside itself (bp → outer → middle → bp): a blueprint "
        "cannot contain itself."]


def test_the_draft_replaces_its_own_published_children() -> None:
    """bp's published version ran itself; the draft under validation no longer does."""
    children = CHILDREN | {"bp": ChildBlueprint(True, {}, frozenset({"bp"}))}
    assert problems(linear(sub_blueprint("child", "label")), children) == []
    assert problems(linear(sub_blueprint("child", "middle")), children) == [
        ("blueprint_contains_itself", "child", None)]


def test_a_loop_among_other_blueprints_is_theirs() -> None:
    children = CHILDREN | {"ping": ChildBlueprint(True, {}, frozenset({"pong"})),
                           "pong": ChildBlueprint(True, {}, frozenset({"ping"}))}
    assert problems(linear(sub_blueprint("child", "ping")), children) == []


# -- parallel structure --------------------------------------------------------------------


def test_a_path_inside_a_branch_that_ends_elsewhere() -> None:
    data = fork([call("a")], [sleep("b")], extra=[end("oops", status="failed")],
                edges=[edge("a", "oops", "failed")])
    assert problems(data) == [("orphan_join", "meet", None), ("parallel_without_join", "fan", None)]


def test_an_edge_between_sibling_branches_crosses() -> None:
    """b2 is reached from both branches, so each edge into it crosses from the other's view."""
    data = fork([call("a")], [sleep("b"), sleep("b2")], edges=[edge("a", "b2", "failed")])
    assert problems(data) == [("branch_crossing", None, ("a", "b2")),
                              ("branch_crossing", None, ("b", "b2"))]
    fixed = fork([call("a")], [sleep("b"), sleep("b2")], edges=[edge("a", "meet", "failed")])
    assert problems(fixed) == []


def test_an_edge_into_the_join_from_before_the_parallel_crosses() -> None:
    assert problems(pre_fork(failed_to="meet")) == [("branch_crossing", None, ("pre", "meet"))]


def test_an_empty_branch_straight_to_the_join_is_fine() -> None:
    data = fork([sleep("a")], edges=[edge("fan", "meet", "branch")])
    assert problems(data) == []


def test_the_parallel_failed_edge_leaves_the_block() -> None:
    data = two_branches(extra=[end("oops", status="failed", result="error")],
                        edges=[edge("fan", "oops", "failed")])
    assert problems(data) == []


def test_a_nested_parallels_failed_edge_may_not_leave_the_outer_branch() -> None:
    escaping = nested(inner_join=True)
    escaping["nodes"].append(end("oops", status="failed"))
    escaping["edges"].append(edge("inner", "oops", "failed"))
    assert ("parallel_without_join", "outer", None) in problems(escaping)
    inside = nested(inner_join=True)
    inside["nodes"].append(sleep("recover"))
    inside["edges"] += [edge("inner", "recover", "failed"), edge("recover", "meet")]
    assert problems(inside) == []


def test_structure_is_not_checked_when_there_is_a_cycle() -> None:
    data = two_branches(edges=[edge("a", "fan", "failed")])
    assert [code for code, _, _ in problems(data)] == ["cycle"]


def test_write_conflict_names_the_var_and_the_other_node() -> None:
    data = RULES["parallel_write_conflict"][0]
    assert messages(data, "parallel_write_conflict") == [
        "vars.x is also saved by “b” in another branch of the parallel step “fan”: which save "
        "wins is not defined.",
        "vars.x is also saved by “a” in another branch of the parallel step “fan”: which save "
        "wins is not defined."]


def test_flow_messages_name_steps_by_their_label() -> None:
    data = RULES["parallel_write_conflict"][0]
    labels = {"a": "Make label", "b": "Book pickup", "fan": "Ship both"}
    for item in data["nodes"]:
        if item["id"] in labels:
            item["label"] = labels[item["id"]]
    assert messages(data, "parallel_write_conflict")[0] == (
        "vars.x is also saved by “Book pickup” in another branch of the parallel step "
        "“Ship both”: which save wins is not defined.")


def test_two_saves_within_one_branch_do_not_conflict() -> None:
    data = fork([call("a", save={"x": "response.body"}), call("a2", save={"x": "response.body"})],
                [sleep("b")])
    assert problems(data) == []


def test_inner_branches_conflict_in_the_inner_parallel() -> None:
    data = nested(inner_join=True)
    for item in data["nodes"]:
        if item["id"] in {"b", "c"}:
            item.update(type="function", function="first", args={"items": "input.x"},
                        save={"x": "result"}, duration=None)
    found = problems(data)
    assert found == [("parallel_write_conflict", "b", None), ("parallel_write_conflict", "c", None)]
    assert all("parallel step “inner”" in m for m in messages(data, "parallel_write_conflict"))


# -- expression scopes ---------------------------------------------------------------------


@pytest.mark.parametrize("passing", [
    for_each("each", "label", input={"sku": "item.sku", "at": "index", "parent": "order.id"}),
    for_each("each", "label", save={"done": "results", "failures": "errors"}),
    sub_blueprint("child", "label", input={"country": "input.country"}, save={"label": "result"}),
], ids=["item_and_index_in_for_each_input", "results_and_errors_in_for_each_save",
        "result_in_sub_blueprint_save"])
def test_child_names_in_scope(passing: dict) -> None:
    assert problems(linear(passing)) == []


@pytest.mark.parametrize("bad_node", [
    for_each("each", "label", items="item"),
    for_each("each", "label", save={"one": "item"}),
    for_each("each", "label", save={"one": "result"}),
    sub_blueprint("each", "label", input={"sku": "item.sku"}),
    sub_blueprint("each", "label", save={"all": "results"}),
], ids=["item_in_items", "item_in_save", "result_in_for_each_save", "item_in_sub_blueprint_input",
        "results_in_sub_blueprint_save"])
def test_child_names_out_of_scope(bad_node: dict) -> None:
    assert problems(linear(bad_node)) == [("unknown_name", "each", None)]


@pytest.mark.parametrize("bad_node", [
    for_each("each", "label", items="input.lines ]"),
    for_each("each", "label", input={"sku": "item.sku |"}),
], ids=["items", "input"])
def test_child_expressions_that_do_not_parse(bad_node: dict) -> None:
    assert problems(linear(bad_node)) == [("bad_expression", "each", None)]


# -- dataflow ------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [
    for_each("each", "label", items="vars.lines"),
    for_each("each", "label", input={"token": "vars.token"}),
    sub_blueprint("each", "label", input={"token": "vars.token"}),
], ids=["items", "for_each_input", "sub_blueprint_input"])
def test_var_reads_in_items_and_input_count(reader: dict) -> None:
    assert problems(linear(reader)) == [("unsaved_var", "each", None)]


def test_each_branch_saves_are_definite_after_the_join() -> None:
    data = fork([call("a", save={"x": "response.body"})],
                [sleep("b"), fn("b2", "first", args={"items": "input.items"}, save={"y": "result"})],
                last=end(result="[vars.x, vars.y, vars.before]"),
                extra=[fn("pre", "first", args={"items": "input.items"}, save={"before": "result"})])
    data["edges"] = [edge("start", "pre"), edge("pre", "fan"),
                     *(e for e in data["edges"] if e["source"] != "start")]
    assert problems(data) == []


def test_a_branch_saving_on_one_of_its_paths_only_is_not_definite() -> None:
    data = fork([condition("if"), call("t", save={"x": "response.body"}), sleep("f")],
                [sleep("b")], last=end(result="vars.x"))
    data["edges"] = [e for e in data["edges"] if (e["source"], e["target"]) not in
                     {("if", "t"), ("t", "f")}]
    data["edges"] += [edge("if", "t", "true"), edge("if", "f", "false"), edge("t", "meet")]
    assert problems(data) == [("unsaved_var", "end", None)]


def test_saves_do_not_flow_along_a_failed_edge_into_the_join() -> None:
    data = fork([call("a", save={"x": "response.body"})], [sleep("b")],
                edges=[edge("a", "meet", "failed")], last=end(result="vars.x"))
    assert problems(data) == [("unsaved_var", "end", None)]


def test_nothing_a_sibling_branch_saves_is_visible() -> None:
    data = fork([call("a", save={"x": "response.body"})],
                [fn("b", "first", args={"items": "vars.x"})])
    assert problems(data) == [("unsaved_var", "b", None)]


def test_nested_parallel_saves_reach_the_outer_join() -> None:
    data = nested(inner_join=True)
    for item in data["nodes"]:
        if item["id"] in {"b", "d"}:
            item.update(type="function", function="first", args={"items": "input.x"},
                        save={item["id"]: "result"}, duration=None)
        if item["id"] == "end":
            item["result"] = "[vars.b, vars.d]"
    assert problems(data) == []


# -- the catalog's child blueprints, from the database and the CLI -------------------------


def child(blueprint_id: str, schema: dict | None = None, *middle: dict) -> dict:
    return linear(*middle, blueprint_id=blueprint_id, input_schema=schema or {})


async def create(client: httpx.AsyncClient, body: dict, publish: bool = True) -> None:
    assert (await client.post("/api/blueprints", json=body)).status_code == 201
    if publish:
        assert (await client.post(f"/api/blueprints/{body['id']}/publish")).status_code == 201


async def codes(client: httpx.AsyncClient, body: dict) -> list[tuple]:
    response = await client.post("/api/blueprints/validate", json=body)
    assert response.status_code == 200, response.text
    return [(e["code"], e["node"]) for e in response.json()["errors"]]


async def test_children_come_from_the_latest_published_version(client: httpx.AsyncClient) -> None:
    parent = linear(for_each("each", "line", input={"sku": "item.sku"}), blueprint_id="parent")
    assert await codes(client, parent) == [("unknown_blueprint", "each")]
    await create(client, child("line", {"required": ["sku"]}), publish=False)
    assert await codes(client, parent) == [("unpublished_blueprint", "each")]
    assert (await client.post("/api/blueprints/line/publish")).status_code == 201
    assert await codes(client, parent) == []
    assert (await client.put("/api/blueprints/line", json=child(
        "line", {"required": ["sku", "qty"]}))).status_code == 200
    assert await codes(client, parent) == []  # the draft is not what a parent runs
    assert (await client.post("/api/blueprints/line/publish")).status_code == 201
    assert await codes(client, parent) == [("child_input", "each")]


async def test_a_blueprint_may_not_contain_itself_through_published_children(
        client: httpx.AsyncClient) -> None:
    await create(client, child("a"))
    await create(client, child("b", None, sub_blueprint("run_a", "a")))
    await create(client, child("c"))
    assert await codes(client, child("a", None, sub_blueprint("run_b", "b"))) == [
        ("blueprint_contains_itself", "run_b")]
    assert await codes(client, child("a", None, sub_blueprint("run_c", "c"))) == []


async def test_the_catalog_reads_every_blueprint_in_a_bounded_number_of_queries(
        client: httpx.AsyncClient, app, sessions) -> None:
    async def count() -> tuple[int, dict[str, ChildBlueprint]]:
        statements: list[str] = []

        def seen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(app.state.waybill.engine.sync_engine, "before_cursor_execute", seen)
        try:
            async with sessions() as session:
                known = (await load_catalog(session=session)).blueprints
        finally:
            event.remove(app.state.waybill.engine.sync_engine, "before_cursor_execute", seen)
        return len(statements), known

    await create(client, child("first", {"required": ["a"]}))
    few, _ = await count()
    for number in range(6):
        await create(client, child(f"more{number}", None,
                                   sub_blueprint("run", "first", input={"a": "input.a"})),
                     publish=number % 2 == 0)
    many, known = await count()
    assert many == few
    assert known["first"] == ChildBlueprint(True, {"required": ["a"]}, frozenset())
    assert known["more0"] == ChildBlueprint(True, {}, frozenset({"first"}))
    assert known["more1"] == ChildBlueprint(False)


def write(folder: Path, data: dict) -> Path:
    path = folder / f"{data['id']}.json"
    path.write_text(json.dumps(data))
    return path


async def test_cli_files_validated_together_run_each_other(sessions, tmp_path: Path) -> None:
    parent = write(tmp_path, linear(sub_blueprint("child", "kid"), blueprint_id="parent"))
    kid = write(tmp_path, child("kid"))
    out = io.StringIO()
    async with sessions() as session:
        assert await validate_files(session, [parent], Console(file=out)) == 1
        assert "unknown_blueprint at child" in out.getvalue()
        assert await validate_files(session, [parent, kid], Console(file=io.StringIO())) == 0
