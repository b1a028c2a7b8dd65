"""`graph.validate`: every rule with one failing and one passing blueprint, then dataflow."""

from __future__ import annotations

import pytest

from backend.blueprints import graph
from backend.blueprints.graph import Catalog, validate
from backend.engine.format import ApiCallSpec
from tests.blueprints.factories import (
    blueprint,
    call,
    catalog,
    chain,
    condition,
    diamond,
    doc,
    edge,
    end,
    fn,
    linear,
    node,
    sleep,
    start,
)

CODES = (
    "missing_start", "multiple_starts", "duplicate_node_id", "unknown_node_type",
    "dangling_edge", "bad_edge_kind", "edge_into_start", "edge_out_of_end", "duplicate_edge",
    "condition_branches", "dead_end", "unreachable", "cycle", "missing_field",
    "unknown_api_call", "unknown_function", "bad_duration", "bad_status", "bad_expression",
    "unknown_name", "missing_arg", "unsaved_var",
)


def problems(data: dict) -> list[tuple]:
    return sorted(((p.code, p.node, p.edge) for p in validate(doc(data), catalog())),
                  key=repr)


def two_ends(*middle: dict, edges: list[dict]) -> dict:
    return blueprint([start(), *middle, end(), end("end2")], edges)


# (failing blueprint, every problem it has, the same blueprint fixed)
RULES = {
    "missing_start": (
        blueprint([end()], []),
        [("missing_start", None, None)],
        linear(),
    ),
    "multiple_starts": (
        blueprint([start(), start("start2"), end()], [edge("start", "end"), edge("start2", "end")]),
        [("multiple_starts", "start2", None)],
        linear(),
    ),
    "duplicate_node_id": (
        blueprint([start(), sleep("wait"), sleep("wait", "2s"), end()],
                  chain("start", "wait", "end")),
        [("duplicate_node_id", "wait", None)],
        blueprint([start(), sleep("wait"), sleep("wait2", "2s"), end()],
                  chain("start", "wait", "wait2", "end")),
    ),
    "unknown_node_type": (
        linear(node("beam", "teleport")),
        [("unknown_node_type", "beam", None)],
        linear(sleep("beam")),
    ),
    "dangling_edge": (
        blueprint([start(), end()], [edge("start", "end"), edge("ghost", "end")]),
        [("dangling_edge", None, ("ghost", "end"))],
        linear(),
    ),
    "bad_edge_kind": (
        blueprint([start(), sleep("a"), end()], [edge("start", "a"), edge("a", "end", "sideways")]),
        [("bad_edge_kind", None, ("a", "end")), ("dead_end", "a", None)],
        blueprint([start(), sleep("a"), end()], [edge("start", "a"), edge("a", "end", "next")]),
    ),
    "edge_into_start": (
        blueprint([start(), sleep("x"), end()], [edge("start", "end"), edge("x", "start")]),
        [("edge_into_start", None, ("x", "start")), ("unreachable", "x", None)],
        blueprint([start(), sleep("x"), end()], [edge("start", "x"), edge("x", "end")]),
    ),
    "edge_out_of_end": (
        blueprint([start(), end(), end("other")], [edge("start", "end"), edge("end", "other")]),
        [("edge_out_of_end", None, ("end", "other"))],
        blueprint([start(), sleep("a"), end(), end("other")],
                  [edge("start", "a"), edge("a", "end"), edge("a", "other", "failed")]),
    ),
    "duplicate_edge": (
        two_ends(sleep("a"), edges=[edge("start", "a"), edge("a", "end"), edge("a", "end2")]),
        [("duplicate_edge", "a", None)],
        two_ends(sleep("a"), edges=[edge("start", "a"), edge("a", "end"),
                                    edge("a", "end2", "failed")]),
    ),
    "condition_branches": (
        blueprint([start(), condition("if"), end()],
                  [edge("start", "if"), edge("if", "end", "true")]),
        [("condition_branches", "if", None)],
        two_ends(condition("if"), edges=[edge("start", "if"), edge("if", "end", "true"),
                                         edge("if", "end2", "false")]),
    ),
    "dead_end": (
        blueprint([start(), sleep("a"), end()], [edge("start", "a"), edge("a", "end", "failed")]),
        [("dead_end", "a", None)],
        two_ends(sleep("a"), edges=[edge("start", "a"), edge("a", "end"),
                                    edge("a", "end2", "failed")]),
    ),
    "unreachable": (
        blueprint([start(), sleep("orphan"), end()], [edge("start", "end"), edge("orphan", "end")]),
        [("unreachable", "orphan", None)],
        blueprint([start(), sleep("orphan"), end()], chain("start", "orphan", "end")),
    ),
    "cycle": (
        blueprint([start(), sleep("a"), sleep("b"), end()],
                  [*chain("start", "a", "b", "end"), edge("b", "a", "failed")]),
        [("cycle", None, ("b", "a"))],
        two_ends(sleep("a"), sleep("b"),
                 edges=[*chain("start", "a", "b", "end"), edge("b", "end2", "failed")]),
    ),
    "missing_field": (
        linear(node("c", "api_call")),
        [("missing_field", "c", None)],
        linear(call("c")),
    ),
    "unknown_api_call": (
        linear(call("c", "no-such-call")),
        [("unknown_api_call", "c", None)],
        linear(call("c", "plain")),
    ),
    "unknown_function": (
        linear(fn("f", "no_such_function", args={"items": "input.items"})),
        [("unknown_function", "f", None)],
        linear(fn("f", "first", args={"items": "input.items"})),
    ),
    "bad_duration": (
        linear(sleep("wait", "soon")),
        [("bad_duration", "wait", None)],
        linear(sleep("wait", "3d")),
    ),
    "bad_status": (
        blueprint([start(), end(status="done")], chain("start", "end")),
        [("bad_status", "end", None)],
        blueprint([start(), end(status="failed")], chain("start", "end")),
    ),
    "bad_expression": (
        blueprint([start(), end(result="1 +")], chain("start", "end")),
        [("bad_expression", "end", None)],
        blueprint([start(), end(result="1 + 2")], chain("start", "end")),
    ),
    "unknown_name": (
        blueprint([start(), end(result="customer.name")], chain("start", "end")),
        [("unknown_name", "end", None)],
        blueprint([start(), end(result="input.customer.name")], chain("start", "end")),
    ),
    "missing_arg": (
        linear(call("c", "create-return")),
        [("missing_arg", "c", None)],
        linear(call("c", "create-return", args={"ticket_id": "input.ticket_id"})),
    ),
    "unsaved_var": (
        blueprint([start(), end(result="vars.total")], chain("start", "end")),
        [("unsaved_var", "end", None)],
        blueprint([start(), fn("add", "sum", args={"items": "input.prices"},
                               save={"total": "result"}), end(result="vars.total")],
                  chain("start", "add", "end")),
    ),
}


def test_every_documented_code_has_a_rule_case() -> None:
    assert set(RULES) == set(CODES)
    assert all(code in graph.__doc__ for code in CODES)


@pytest.mark.parametrize("code", CODES)
def test_rule_fails(code: str) -> None:
    bad, expected, _ = RULES[code]
    assert problems(bad) == sorted(expected, key=repr)


@pytest.mark.parametrize("code", CODES)
def test_rule_passes_when_fixed(code: str) -> None:
    _, _, good = RULES[code]
    assert problems(good) == []


def test_every_problem_has_a_message() -> None:
    for code in CODES:
        found = validate(doc(RULES[code][0]), catalog())
        assert all(problem.message.strip() for problem in found)


# -- more failing shapes per rule ----------------------------------------------------------


def test_dangling_target_names_the_edge() -> None:
    data = blueprint([start(), end()], [edge("start", "ghost"), edge("start", "end")])
    assert ("dangling_edge", None, ("start", "ghost")) in problems(data)


@pytest.mark.parametrize(("nodes", "edges", "bad_edge"), [
    ([start(), condition("if"), end(), end("end2")],
     [edge("start", "if"), edge("if", "end"), edge("if", "end", "true"),
      edge("if", "end2", "false")], ("if", "end")),
    ([start(), end(), end("end2")],
     [edge("start", "end"), edge("start", "end2", "failed")], ("start", "end2")),
    ([start(), sleep("a"), end(), end("end2")],
     [edge("start", "a"), edge("a", "end"), edge("a", "end2", "true")], ("a", "end2")),
], ids=["next_out_of_condition", "failed_out_of_start", "true_out_of_sleep"])
def test_edge_kind_must_suit_its_source(nodes: list, edges: list, bad_edge: tuple) -> None:
    assert problems(blueprint(nodes, edges)) == [("bad_edge_kind", None, bad_edge)]


@pytest.mark.parametrize("kind", ["true", "failed"])
def test_duplicate_branch_or_failed_edges(kind: str) -> None:
    nodes = [start(), condition("if"), end(), end("end2"), end("end3"), end("end4")]
    edges = [edge("start", "if"), edge("if", "end", "true"), edge("if", "end2", "false"),
             edge("if", "end3", kind), edge("if", "end4", kind)]
    assert problems(blueprint(nodes, edges)) == [("duplicate_edge", "if", None)]


def test_condition_without_any_branch() -> None:
    data = blueprint([start(), condition("if"), end()], [edge("start", "if")])
    assert problems(data) == [("condition_branches", "if", None), ("unreachable", "end", None)]


def test_condition_may_have_a_failed_edge() -> None:
    nodes = [start(), condition("if"), end(), end("end2"), end("oops")]
    edges = [edge("start", "if"), edge("if", "end", "true"), edge("if", "end2", "false"),
             edge("if", "oops", "failed")]
    assert problems(blueprint(nodes, edges)) == []


def test_self_loop_is_a_cycle() -> None:
    data = blueprint([start(), sleep("a"), end()],
                     [edge("start", "a"), edge("a", "end"), edge("a", "a", "failed")])
    assert problems(data) == [("cycle", None, ("a", "a"))]


def test_cycle_edge_is_the_one_that_leads_back() -> None:
    ids = ["zeta", "alpha", "mid", "omega", "kappa"]
    nodes = [start(), end(), *(sleep(i) for i in ids)]
    edges = [*chain("start", *ids, "end"), edge("kappa", "zeta", "failed")]
    assert problems(blueprint(nodes, edges)) == [("cycle", None, ("kappa", "zeta"))]


def test_cycle_edge_does_not_depend_on_node_order() -> None:
    ids = ["zeta", "alpha", "mid", "omega", "kappa"]
    nodes = [start(), end(), *(sleep(i) for i in reversed(ids))]
    edges = [*chain("start", *ids, "end"), edge("kappa", "zeta", "failed")]
    assert problems(blueprint(nodes, edges)) == [("cycle", None, ("kappa", "zeta"))]


def test_two_separate_cycles_are_two_problems() -> None:
    nodes = [start(), sleep("a"), sleep("b"), end()]
    edges = [*chain("start", "a", "b", "end"), edge("a", "a", "failed"),
             edge("b", "b", "failed")]
    assert problems(blueprint(nodes, edges)) == [("cycle", None, ("a", "a")),
                                                 ("cycle", None, ("b", "b"))]


@pytest.mark.parametrize("bad_node", [
    node("f", "function", args={"items": "input.items"}),
    node("w", "wait_signal"),
    node("s", "sleep"),
    node("s", "sleep", duration="1s", until="input.when"),
], ids=["function_without_function", "wait_signal_without_signal", "sleep_without_time",
        "sleep_with_duration_and_until"])
def test_missing_field(bad_node: dict) -> None:
    assert problems(linear(bad_node)) == [("missing_field", bad_node["id"], None)]


def test_condition_without_expression_is_missing_a_field() -> None:
    data = two_ends(node("if", "condition"), edges=[edge("start", "if"),
                                                    edge("if", "end", "true"),
                                                    edge("if", "end2", "false")])
    assert problems(data) == [("missing_field", "if", None)]


@pytest.mark.parametrize("passing", [
    sleep("s", "90s"), sleep("s", "1h30m"), node("s", "sleep", until="input.when"),
    node("w", "wait_signal", signal="approved"),
    node("w", "wait_signal", signal="approved", timeout="7d"),
], ids=["sleep_90s", "sleep_1h30m", "sleep_until", "wait_signal", "wait_signal_timeout"])
def test_timed_nodes_pass(passing: dict) -> None:
    assert problems(linear(passing)) == []


@pytest.mark.parametrize("bad_node", [
    sleep("w", "3 days"),
    node("w", "wait_signal", signal="approved", timeout="7 days"),
    sleep("w", "400d"),
], ids=["sleep_words", "signal_timeout_words", "longer_than_a_year"])
def test_bad_durations(bad_node: dict) -> None:
    assert problems(linear(bad_node)) == [("bad_duration", "w", None)]


def test_end_status_completed_passes() -> None:
    assert problems(blueprint([start(), end(status="completed")], chain("start", "end"))) == []


@pytest.mark.parametrize("bad_node", [
    condition("x", "input.total >"),
    fn("x", "first", args={"items": "input.items ]"}),
    fn("x", "first", args={"items": "input.items"}, save={"not-a-name": "result"}),
    node("x", "sleep", until="input.when | no_such_filter"),
], ids=["condition", "args", "save_key", "unknown_filter"])
def test_bad_expression(bad_node: dict) -> None:
    if bad_node["type"] == "condition":
        data = two_ends(bad_node, edges=[edge("start", "x"), edge("x", "end", "true"),
                                         edge("x", "end2", "false")])
    else:
        data = linear(bad_node)
    assert problems(data) == [("bad_expression", "x", None)]


@pytest.mark.parametrize("bad_node", [
    call("x", args={"a": "response.body"}),
    call("x", save={"a": "result"}),
    fn("x", "first", args={"items": "input.items"}, save={"a": "response.body"}),
    node("x", "sleep", until="whenever"),
], ids=["response_in_args", "result_in_api_call_save", "response_in_function_save",
        "bare_name"])
def test_unknown_name(bad_node: dict) -> None:
    assert problems(linear(bad_node)) == [("unknown_name", "x", None)]


@pytest.mark.parametrize("passing", [
    call("x", save={"id": "response.body.id", "status": "response.status"}),
    fn("x", "first", args={"items": "input.items"}, save={"item": "result"}),
    node("x", "wait_signal", signal="go", save={"approved_by": "signal.user"}),
    fn("x", "first", args={"items": "variables.shops | first"}),
    call("x", args={"when": "order.id ~ now()"}),
], ids=["response_in_api_call_save", "result_in_function_save", "signal_in_wait_save",
        "functions_and_variables", "order_and_function_call"])
def test_names_in_scope_pass(passing: dict) -> None:
    assert problems(linear(passing)) == []


def test_error_is_readable_after_a_failed_edge() -> None:
    nodes = [start(), call("c"), end(), end("oops", status="failed", result="error.message")]
    edges = [edge("start", "c"), edge("c", "end"), edge("c", "oops", "failed")]
    assert problems(blueprint(nodes, edges)) == []


def test_missing_arg_message_names_the_args() -> None:
    found = validate(doc(linear(call("c", "create-return"))), catalog())
    assert [p.message for p in found] == [
        "The API call “create-return” needs the argument ticket_id: add it under Arguments."]


def test_an_all_node_types_blueprint_is_valid() -> None:
    nodes = [
        start(),
        condition("is_us", "input.country == 'US'"),
        call("us_label", save={"tracking": "response.body.tracking_number"}),
        call("ca_label", save={"tracking": "response.body.tracking"}),
        call("create_return", "create-return", args={"ticket_id": "input.ticket_id"},
             save={"return_id": "response.body.id"},
             retry={"max_attempts": 5, "initial_s": 1, "backoff": 2, "max_s": 60}),
        sleep("wait", "3d"),
        fn("first_item", "first", args={"items": "input.items"}, save={"item": "result"}),
        node("refund_wait", "wait_signal", signal="approved", timeout="7d"),
        end("done", result="[vars.tracking, vars.return_id, vars.item]"),
        end("notify_failure", status="failed", result="error"),
    ]
    edges = [
        edge("start", "is_us"), edge("is_us", "us_label", "true"),
        edge("is_us", "ca_label", "false"), edge("us_label", "create_return"),
        edge("ca_label", "create_return"), edge("create_return", "wait"),
        edge("create_return", "notify_failure", "failed"),
        *chain("wait", "first_item", "refund_wait", "done"),
    ]
    assert problems(blueprint(nodes, edges)) == []


# -- dataflow ------------------------------------------------------------------------------


def test_saves_do_not_flow_along_failed_edges() -> None:
    nodes = [start(), call("c", save={"x": "response.body"}), end(result="vars.x"),
             end("recover", result="vars.x")]
    edges = [edge("start", "c"), edge("c", "end"), edge("c", "recover", "failed")]
    assert problems(blueprint(nodes, edges)) == [("unsaved_var", "recover", None)]


def test_a_join_reached_by_next_and_failed_from_the_saver_is_unsaved() -> None:
    nodes = [start(), call("c", save={"x": "response.body"}), sleep("join"),
             end(result="vars.x")]
    edges = [edge("start", "c"), edge("c", "join"), edge("c", "join", "failed"),
             edge("join", "end")]
    assert problems(blueprint(nodes, edges)) == [("unsaved_var", "end", None)]


def test_var_saved_on_both_branches_is_fine_after_the_join() -> None:
    data = diamond(call("t", save={"x": "response.body.a"}),
                   call("f", save={"x": "response.body.b"}),
                   fn("join", "first", args={"items": "vars.x"}))
    assert problems(data) == []


def test_var_saved_on_one_branch_is_unsaved_after_the_join() -> None:
    data = diamond(call("t", save={"x": "response.body.a"}),
                   call("f", save={"y": "response.body.b"}),
                   fn("join", "first", args={"items": "vars.x"}))
    assert problems(data) == [("unsaved_var", "join", None)]


def test_var_saved_before_the_condition_reaches_both_branches() -> None:
    nodes = [start(), call("c", save={"x": "response.body"}), condition("if", "vars.x > 1"),
             end(result="vars.x"), end("end2", result="vars.x + 1")]
    edges = [edge("start", "c"), edge("c", "if"), edge("if", "end", "true"),
             edge("if", "end2", "false")]
    assert problems(blueprint(nodes, edges)) == []


def test_condition_and_sleep_until_reads_are_reads() -> None:
    nodes = [start(), node("s", "sleep", until="vars.when"), condition("if", "vars.ok"),
             end(), end("end2")]
    edges = [edge("start", "s"), edge("s", "if"), edge("if", "end", "true"),
             edge("if", "end2", "false")]
    assert problems(blueprint(nodes, edges)) == [("unsaved_var", "if", None),
                                                 ("unsaved_var", "s", None)]


def test_a_var_read_in_an_api_call_url_is_a_read_at_the_node() -> None:
    assert problems(linear(call("fetch", "by-var"))) == [("unsaved_var", "fetch", None)]
    saved = linear(call("find", save={"thing_id": "response.body.id"}), call("fetch", "by-var"))
    assert problems(saved) == []


def test_a_var_read_in_an_api_call_body_is_a_read_at_the_node() -> None:
    found = validate(doc(linear(call("post", "var-in-body"))), catalog())
    assert [(p.code, p.node) for p in found] == [("unsaved_var", "post")]
    assert "vars.token" in found[0].message


def test_vars_get_is_not_a_required_read() -> None:
    data = blueprint([start(), end(result="vars.get('x', 0) + 1")], chain("start", "end"))
    assert problems(data) == []


def test_vars_subscript_is_a_read() -> None:
    data = blueprint([start(), end(result="vars['x']")], chain("start", "end"))
    assert problems(data) == [("unsaved_var", "end", None)]


def test_a_node_does_not_read_what_it_saves_itself() -> None:
    data = linear(fn("count", "length", args={"items": "input.items"},
                     save={"n": "vars.n + result"}))
    assert problems(data) == [("unsaved_var", "count", None)]


def test_a_save_downstream_does_not_help_an_earlier_read() -> None:
    data = linear(fn("use", "first", args={"items": "vars.items_"}),
                  fn("make", "first", args={"items": "input.items"}, save={"items_": "result"}))
    assert problems(data) == [("unsaved_var", "use", None)]


def test_unsaved_message_lists_every_missing_var() -> None:
    data = blueprint([start(), end(result="[vars.b, vars.a, vars.c]")], chain("start", "end"))
    found = validate(doc(data), Catalog())
    assert [p.code for p in found] == ["unsaved_var"]
    assert found[0].message == ("This step reads vars.a, vars.b and vars.c, but not every path "
                                "from the start step saves them first.")


def messages(data: dict, code: str) -> list[str]:
    return [p.message for p in validate(doc(data), catalog()) if p.code == code]


def test_messages_read_as_plain_english() -> None:
    assert messages(linear(node("c", "api_call")), "missing_field") == [
        "An API call step needs an API call to run: pick one."]
    assert messages(linear(node("w", "wait_signal")), "missing_field") == [
        "A wait-for-signal step needs the name of the signal it waits for."]
    assert messages(linear(call("c", "nope")), "unknown_api_call") == [
        "There is no API call “nope”: pick one, or create it on the API calls page."]
    assert messages(linear(sleep("s", "3 days")), "bad_duration") == [
        "The duration “3 days” is not a duration: write a number and a unit, like 90s, 15m, 3d "
        "or 1h30m."]
    data = blueprint([start(), condition("c", "input.ok"), end()],
                     [edge("start", "c"), edge("c", "end", "true")])
    assert messages(data, "condition_branches") == [
        "A condition step needs one “true” edge and one “false” edge: the “false” edge is missing."]


def test_an_expression_that_does_not_parse_says_where_and_what_was_expected() -> None:
    data = blueprint([start(), condition("c", "input.country. == 'US'"), end("yes"), end("no")],
                     [edge("start", "c"), edge("c", "yes", "true"), edge("c", "no", "false")])
    assert messages(data, "bad_expression") == [
        "In the condition: Expected a name after “.” at column 16."]
    data = linear(call("c", "create-return", args={"ticket_id": "first(input.ids"}))
    assert messages(data, "bad_expression") == [
        "In the argument “ticket_id”: Unexpected end of the expression at column 16: expected "
        "“)” to close the “(” at column 6."]


def test_other_steps_are_named_by_their_label() -> None:
    nodes = [start(), sleep("a", label="Wait a day"), end()]
    edges = [*chain("start", "a", "end"), edge("a", "a", "failed")]
    assert messages(blueprint(nodes, edges), "cycle") == [
        "This edge leads back to “Wait a day”, making a loop: a flow never goes back to an "
        "earlier step."]
    nodes = [start(), sleep("a"), end()]
    assert messages(blueprint(nodes, edges), "cycle")[0].startswith("This edge leads back to “a”,")


def test_dataflow_skipped_on_a_cyclic_blueprint() -> None:
    nodes = [start(), sleep("a"), end(result="vars.never")]
    edges = [*chain("start", "a", "end"), edge("a", "a", "failed")]
    assert problems(blueprint(nodes, edges)) == [("cycle", None, ("a", "a"))]


def test_vars_items_is_a_read_of_the_var_named_items() -> None:
    data = linear(fn("first_item", "first", args={"items": "vars.items"}))
    assert problems(data) == [("unsaved_var", "first_item", None)]


def test_a_broken_api_call_template_is_a_problem_not_a_crash() -> None:
    broken = ApiCallSpec(id="broken", name="broken", url="https://x/{{ args.id")
    found = validate(doc(linear(call("c", "broken"))), Catalog(api_calls={"broken": broken}))
    assert [p.node for p in found] == ["c"]


def test_a_deeply_nested_expression_is_a_problem_not_a_crash() -> None:
    deep = "(" * 2000 + "1" + ")" * 2000
    data = blueprint([start(), end(result=deep)], chain("start", "end"))
    assert problems(data) == [("bad_expression", "end", None)]


@pytest.mark.parametrize(("key", "schema", "code"), [
    ("input.customer", {"properties": {"customer": {}}}, None),
    ("input.customer.id ~ '/' ~ input.region", {}, None),
    ("input.(", {}, "bad_expression"),
    ("vars.customer", {}, "unknown_name"),
    ("input.client", {"properties": {"customer": {}}}, "unknown_input"),
])
def test_a_concurrency_key_reads_the_input_alone(key: str, schema: dict, code: str | None) -> None:
    data = linear() | {"concurrency": {"key": key, "limit": 2}, "input_schema": schema}
    found = [(p.code, p.node) for p in validate(doc(data), catalog())]
    assert found == ([(code, None)] if code else [])
