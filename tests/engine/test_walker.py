"""The pure walker with fake ports: no HTTP, no database, a fixed clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.engine.errors import PermanentStepError, TransientStepError
from backend.engine.format import RetryPolicy
from backend.engine.functions import REGISTRY
from backend.engine.walker import (
    Advance,
    ApiResult,
    Finish,
    OrderView,
    Plan,
    Retry,
    Sleep,
    Step,
    Wait,
    backoff_delay,
    take_step,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Json = dict[str, Any]


class FakePorts:
    """Answers API calls from a table (an ApiResult, or an exception to raise)."""

    def __init__(self, answers: Json | None = None, policies: Json | None = None) -> None:
        self.answers = answers or {}
        self.policies = policies or {}
        self.calls: list[tuple[str, Json, str]] = []

    async def call_api(self, api_call_id, args, scope, node) -> ApiResult:
        self.calls.append((api_call_id, args, node.id))
        answer = self.answers[api_call_id]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def retry_policy(self, api_call_id: str) -> RetryPolicy:
        return self.policies.get(api_call_id, RetryPolicy(max_attempts=1))

    def function(self, name: str):
        if name not in REGISTRY:
            raise PermanentStepError("unknown_function", name)
        return REGISTRY[name]

    def now(self) -> datetime:
        return NOW


def node(node_id: str, node_type: str, **fields: Any) -> Json:
    return {"id": node_id, "type": node_type, **fields}


def plan(*middle: Json, edges: list[Json] | None = None, end: Json | None = None) -> Plan:
    """start -> middle... -> end, unless edges are given."""
    nodes = [node("start", "start"), *middle, end or node("end", "end")]
    ids = [item["id"] for item in nodes]
    edges = edges if edges is not None else [{"source": a, "target": b}
                                             for a, b in zip(ids, ids[1:], strict=False)]
    return Plan.from_definition({"id": "bp", "name": "bp", "nodes": nodes, "edges": edges})


def order(at: str, **fields: Any) -> OrderView:
    base = {"order_id": "o-1", "blueprint": "bp", "version": 3, "input": {}, "vars": {},
            "node": at}
    return OrderView(**(base | fields))


def answer(status: int = 200, body: Any = None, stored: Json | None = None) -> ApiResult:
    return ApiResult({"method": "GET", "url": "u"}, {"status": status, "headers": {},
                                                      "body": body}, stored)


async def walk(the_plan: Plan, view: OrderView, ports: FakePorts) -> list[Step]:
    """take_step until the outcome is not Advance, moving the view as the runner does."""
    steps = []
    while True:
        step = await take_step(the_plan, view, ports)
        steps.append(step)
        if not isinstance(step.outcome, Advance):
            return steps
        view.node, view.attempt, view.wake_at = step.outcome.node, 1, None
        view.vars = view.vars | step.saved
        if step.status == "failed":
            view.error = step.error


# -- node kinds ----------------------------------------------------------------------------


async def test_start_advances_along_its_next_edge():
    step = await take_step(plan(), order("start"), FakePorts())
    assert (step.node, step.attempt, step.status, step.outcome) == (
        "start", 1, "completed", Advance("end"))


async def test_api_call_evaluates_args_and_saves_from_the_response():
    call = node("call", "api_call", api_call="get-item",
                args={"sku": "input.sku", "n": "vars.n + 1", "who": "order.id ~ '@' ~ order.version"},
                save={"price": "response.body.price", "ok": "response.status == 200"})
    ports = FakePorts({"get-item": answer(body={"price": 12.5}, stored={"status": 200,
                                                                          "body": "[kept]"})})
    step = await take_step(plan(call), order("call", input={"sku": "MUG"}, vars={"n": 1}), ports)
    assert ports.calls == [("get-item", {"sku": "MUG", "n": 2, "who": "o-1@3"}, "call")]
    assert (step.status, step.outcome) == ("completed", Advance("end"))
    assert step.saved == {"price": 12.5, "ok": True}
    assert step.request == {"method": "GET", "url": "u"}
    assert step.response == {"status": 200, "body": "[kept]"}  # history keeps the stored form


async def test_api_call_without_a_stored_form_keeps_the_response():
    ports = FakePorts({"x": answer(body=[1])})
    step = await take_step(plan(node("call", "api_call", api_call="x")), order("call"), ports)
    assert step.response == {"status": 200, "headers": {}, "body": [1]}
    assert step.saved == {}


async def test_function_node_saves_its_result():
    first = node("first", "function", function="first", args={"items": "vars.line_items"},
                 save={"item": "result", "sku": "result.sku"})
    view = order("first", vars={"line_items": [{"sku": "A"}, {"sku": "B"}]})
    step = await take_step(plan(first), view, FakePorts())
    assert step.saved == {"item": {"sku": "A"}, "sku": "A"}
    assert (step.request, step.response) == ({"args": {"items": [{"sku": "A"}, {"sku": "B"}]}},
                                             {"result": {"sku": "A"}})


async def test_a_value_named_like_a_dict_method_is_read_as_the_value():
    first = node("first", "function", function="first", args={"items": "vars.items"},
                 save={"item": "result"})
    step = await take_step(plan(first), order("first", vars={"items": ["A", "B"]}), FakePorts())
    assert (step.status, step.saved) == ("completed", {"item": "A"})
    call = node("call", "api_call", api_call="list", save={"items": "response.body.items",
                                                            "keys": "response.body.keys"})
    ports = FakePorts({"list": answer(body={"items": [1, 2], "keys": ["k"]})})
    step = await take_step(plan(call), order("call"), ports)
    assert (step.status, step.saved) == ("completed", {"items": [1, 2], "keys": ["k"]})


async def test_a_function_that_raises_fails_the_step_permanently():
    bad = node("len", "function", function="length", args={"items": "5"})
    step = await take_step(plan(bad), order("len"), FakePorts())
    assert (step.status, step.outcome.status) == ("failed", "failed")
    assert step.error["code"] == "function_error"
    assert (step.error["node"], step.error["attempt"], step.error["transient"]) == ("len", 1, False)


def diamond(expression: str) -> Plan:
    return plan(node("if", "condition", expression=expression), node("yes", "end"),
                end=node("no", "end"), edges=[
                    {"source": "start", "target": "if"},
                    {"source": "if", "target": "yes", "kind": "true"},
                    {"source": "if", "target": "no", "kind": "false"}])


@pytest.mark.parametrize(("country", "target"), [("US", "yes"), ("CA", "no")])
async def test_condition_takes_the_true_or_false_edge(country, target):
    step = await take_step(diamond("input.country == 'US'"), order("if", input={"country": country}),
                           FakePorts())
    assert (step.status, step.outcome, step.response) == (
        "completed", Advance(target),
        {"value": country == "US", "reads": [{"path": "input.country", "value": country}]})


async def test_an_expression_that_fails_fails_the_step():
    step = await take_step(diamond("input.missing.deeper"), order("if"), FakePorts())
    assert (step.status, step.error["code"]) == ("failed", "expression")
    assert step.outcome == Finish("failed", error=step.error)


async def test_sleep_for_a_duration_then_resume():
    nap = node("nap", "sleep", duration="3d")
    step = await take_step(plan(nap), order("nap"), FakePorts())
    assert (step.status, step.outcome) == ("sleeping", Sleep(NOW + timedelta(days=3)))
    resumed = await take_step(plan(nap), order("nap", wake_at=NOW - timedelta(seconds=1)),
                              FakePorts())
    assert (resumed.status, resumed.outcome) == ("completed", Advance("end"))
    early = await take_step(plan(nap), order("nap", wake_at=NOW + timedelta(hours=1)),
                            FakePorts())
    assert early.outcome == Sleep(NOW + timedelta(hours=1))  # a wake-up too early sleeps on


async def test_a_test_order_fast_forwards_its_sleeps():
    step = await take_step(plan(node("nap", "sleep", duration="3d")), order("nap", test=True),
                           FakePorts())
    assert (step.status, step.outcome) == ("completed", Advance("end"))
    assert step.response["fast_forwarded"] is True


async def test_sleep_until_a_time_from_an_expression():
    until = node("nap", "sleep", until="input.at")
    at = NOW + timedelta(hours=5)
    step = await take_step(plan(until), order("nap", input={"at": at.isoformat()}), FakePorts())
    assert step.outcome == Sleep(at)
    past = await take_step(plan(until), order("nap", input={"at": "2020-01-01T00:00:00+00:00"}),
                           FakePorts())
    assert past.outcome == Advance("end")
    for bad in ("2026-03-02T00:00:00", "tomorrow"):  # no zone; not a time
        failed = await take_step(plan(until), order("nap", input={"at": bad}), FakePorts())
        assert (failed.status, failed.error["code"]) == ("failed", "bad_until")


async def test_wait_signal_waits_until_its_timeout():
    wait = node("wait", "wait_signal", signal="approved", timeout="7d",
                save={"amount": "signal.amount"})
    step = await take_step(plan(wait), order("wait"), FakePorts())
    assert (step.status, step.outcome) == ("waiting", Wait("approved", NOW + timedelta(days=7)))
    forever = node("wait", "wait_signal", signal="approved")
    assert (await take_step(plan(forever), order("wait"), FakePorts())).outcome == Wait(
        "approved", None)


async def test_a_signal_resumes_with_its_payload_in_scope():
    wait = node("wait", "wait_signal", signal="approved", timeout="7d",
                save={"amount": "signal.amount", "total": "vars.base + signal.amount"})
    view = order("wait", vars={"base": 10}, signals={"approved": {"amount": 5}, "other": 1},
                 wake_at=NOW + timedelta(days=6))
    step = await take_step(plan(wait), view, FakePorts())
    assert (step.status, step.outcome, step.consumed_signal) == (
        "completed", Advance("end"), "approved")
    assert step.saved == {"amount": 5, "total": 15}
    assert step.response == {"signal": "approved", "payload": {"amount": 5}}


async def test_a_signal_timeout_takes_the_failed_edge():
    the_plan = plan(node("wait", "wait_signal", signal="approved", timeout="1h"),
                    node("late", "end", result="error.code"), edges=[
                        {"source": "start", "target": "wait"},
                        {"source": "wait", "target": "end"},
                        {"source": "wait", "target": "late", "kind": "failed"}])
    view = order("wait", wake_at=NOW - timedelta(seconds=1))
    steps = await walk(the_plan, view, FakePorts())
    assert [(s.node, s.status) for s in steps] == [("wait", "failed"), ("late", "completed")]
    assert steps[0].error["code"] == "signal_timeout"
    assert steps[-1].outcome == Finish("completed", "signal_timeout")


async def test_end_evaluates_its_result():
    the_plan = plan(end=node("end", "end", result="{'id': vars.id, 'n': input.n * 2}"))
    step = await take_step(the_plan, order("end", vars={"id": "x"}, input={"n": 4}), FakePorts())
    assert (step.status, step.outcome) == ("completed", Finish("completed", {"id": "x", "n": 8}))
    bare = await take_step(plan(), order("end"), FakePorts())
    assert bare.outcome == Finish("completed", None)


async def test_an_end_with_status_failed_finishes_failed_with_the_error():
    the_plan = plan(end=node("end", "end", status="failed", result="'gave up'"))
    error = {"code": "http_status", "node": "call"}
    step = await take_step(the_plan, order("end", error=error), FakePorts())
    assert step.outcome == Finish("failed", "gave up", error)
    assert step.status == "completed"  # the end node itself ran fine


async def test_a_walk_runs_until_something_waits():
    the_plan = plan(node("call", "api_call", api_call="a", save={"id": "response.body.id"}),
                    node("nap", "sleep", duration="1h"), end=node("end", "end", result="vars.id"))
    ports = FakePorts({"a": answer(body={"id": "r1"})})
    steps = await walk(the_plan, order("start"), ports)
    assert [(s.node, s.status) for s in steps] == [("start", "completed"), ("call", "completed"),
                                                  ("nap", "sleeping")]


# -- failures and retries ------------------------------------------------------------------

POLICY = RetryPolicy(max_attempts=3, initial_s=1, backoff=2, max_s=60)


def failing(exc: Exception, **node_fields: Any) -> tuple[Plan, FakePorts]:
    call = node("call", "api_call", api_call="flaky", **node_fields)
    return plan(call), FakePorts({"flaky": exc}, {"flaky": POLICY})


async def test_a_transient_error_is_retried_within_the_policy():
    the_plan, ports = failing(TransientStepError("http_status", "HTTP 503", {"response": {
        "status": 503}}))
    for attempt in (1, 2):
        step = await take_step(the_plan, order("call", attempt=attempt), ports)
        assert (step.status, step.attempt) == ("retrying", attempt)
        assert isinstance(step.outcome, Retry)
        assert 0 <= step.outcome.delay_s <= 2 ** (attempt - 1)
        assert step.error["code"] == "http_status" and step.error["attempt"] == attempt
        assert step.response == {"status": 503}
    last = await take_step(the_plan, order("call", attempt=3), ports)
    assert (last.status, last.outcome) == ("failed", Finish("failed", error=last.error))
    assert (last.error["transient"], last.error["attempt"], last.error["node"]) == (True, 3, "call")


async def test_retry_after_is_a_floor():
    the_plan, ports = failing(TransientStepError("http_status", "HTTP 429", retry_after=7.5))
    step = await take_step(the_plan, order("call"), ports)
    assert step.outcome.delay_s == 7.5  # jitter is at most 1 s here


async def test_a_permanent_error_is_not_retried():
    the_plan, ports = failing(PermanentStepError("http_status", "HTTP 400"))
    step = await take_step(the_plan, order("call", attempt=1), ports)
    assert (step.status, step.outcome.status) == ("failed", "failed")
    assert step.error == {"code": "http_status", "message": "HTTP 400", "transient": False,
                          "node": "call", "attempt": 1}


async def test_the_nodes_retry_policy_wins_over_the_api_calls():
    the_plan, ports = failing(TransientStepError("timeout", "slow"),
                              retry={"max_attempts": 1})
    step = await take_step(the_plan, order("call"), ports)
    assert step.status == "failed"
    the_plan, ports = failing(TransientStepError("timeout", "slow"),
                              retry={"max_attempts": 9, "initial_s": 0, "max_s": 0})
    step = await take_step(the_plan, order("call", attempt=8), ports)
    assert (step.status, step.outcome) == ("retrying", Retry(0.0))


async def test_a_failure_takes_the_failed_edge_with_the_error_in_scope():
    the_plan = plan(node("call", "api_call", api_call="flaky", save={"x": "response.body"}),
                    node("note", "function", function="get",
                         args={"obj": "error", "path": "'details.response.status'"},
                         save={"status": "result", "code": "error.code"}),
                    end=node("end", "end", result="vars.code"), edges=[
                        {"source": "start", "target": "call"},
                        {"source": "call", "target": "end"},
                        {"source": "call", "target": "note", "kind": "failed"},
                        {"source": "note", "target": "end"}])
    ports = FakePorts({"flaky": PermanentStepError("http_status", "HTTP 404", {
        "response": {"status": 404}})})
    steps = await walk(the_plan, order("call"), ports)
    assert [(s.node, s.status) for s in steps] == [("call", "failed"), ("note", "completed"),
                                                  ("end", "completed")]
    assert steps[0].outcome == Advance("note")
    assert steps[0].saved == {}  # what a failed node would save does not flow
    assert steps[1].saved == {"status": 404, "code": "http_status"}
    assert steps[-1].outcome == Finish("completed", "http_status")


async def test_an_exhausted_retry_takes_the_failed_edge():
    the_plan = plan(node("call", "api_call", api_call="flaky"), node("fallback", "end"), edges=[
        {"source": "start", "target": "call"}, {"source": "call", "target": "end"},
        {"source": "call", "target": "fallback", "kind": "failed"}])
    ports = FakePorts({"flaky": TransientStepError("connection", "refused")}, {"flaky": POLICY})
    assert isinstance((await take_step(the_plan, order("call"), ports)).outcome, Retry)
    step = await take_step(the_plan, order("call", attempt=3), ports)
    assert (step.status, step.outcome) == ("failed", Advance("fallback"))


# -- backoff -------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6, 7, 8])
def test_backoff_is_full_jitter_under_a_capped_exponential(attempt):
    policy = RetryPolicy(max_attempts=10, initial_s=0.5, backoff=3, max_s=20)
    ceiling = min(20, 0.5 * 3 ** (attempt - 1))
    rng = random.Random(attempt)
    delays = [backoff_delay(policy, attempt, None, rng) for _ in range(2000)]
    assert all(0 <= delay <= ceiling for delay in delays)
    assert min(delays) < ceiling * 0.05 and max(delays) > ceiling * 0.95  # full jitter
    assert abs(sum(delays) / len(delays) - ceiling / 2) < ceiling * 0.05
    again = random.Random(attempt)
    assert delays[:5] == [backoff_delay(policy, attempt, None, again) for _ in range(5)]


def test_backoff_matches_the_seeded_draws():
    policy = RetryPolicy(initial_s=1, backoff=2, max_s=5)
    expected = random.Random(42)
    draws = [expected.uniform(0, ceiling) for ceiling in (1, 2, 4, 5, 5)]
    rng = random.Random(42)
    assert [backoff_delay(policy, n, None, rng) for n in range(1, 6)] == draws


def test_retry_after_floors_the_backoff():
    policy = RetryPolicy(initial_s=1, backoff=2, max_s=4)
    rng = random.Random(7)
    assert all(backoff_delay(policy, 3, 10.0, rng) == 10.0 for _ in range(100))
    delays = [backoff_delay(policy, 3, 2.0, rng) for _ in range(500)]
    assert all(2.0 <= delay <= 4.0 for delay in delays)
    assert min(delays) == 2.0 and max(delays) > 3.9
    assert backoff_delay(RetryPolicy(initial_s=0, max_s=0), 1, 0.0, rng) == 0.0


@pytest.mark.parametrize("crash", [RuntimeError("boom"), RecursionError("deep"), KeyError("k")])
async def test_any_exception_in_a_step_is_a_step_error_never_a_stranded_order(crash):
    call = node("call", "api_call", api_call="broken")
    steps = await walk(plan(call), order("start"), FakePorts({"broken": crash}))
    assert [(step.node, step.status) for step in steps] == [("start", "completed"),
                                                            ("call", "failed")]
    assert steps[-1].outcome == Finish("failed", error=steps[-1].error)
    assert steps[-1].error["code"] == "step_crashed"
    assert type(crash).__name__ in steps[-1].error["message"]


async def test_a_crashing_step_takes_its_failed_edge():
    call = node("call", "api_call", api_call="broken")
    edges = [{"source": "start", "target": "call"}, {"source": "call", "target": "end"},
             {"source": "call", "target": "end", "kind": "failed"}]
    steps = await walk(plan(call, edges=edges), order("start"),
                       FakePorts({"broken": ValueError("bad")}))
    assert [step.status for step in steps] == ["completed", "failed", "completed"]
