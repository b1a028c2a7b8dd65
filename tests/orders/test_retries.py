"""Retries of transient failures (5xx, 429 with Retry-After) and permanent failures, which
take the node's `failed` edge with `error` in scope or fail the order."""

import asyncio
from datetime import datetime, timedelta

from backend.orders.runner import Runner
from tests.orders.builders import demo_call, edge, linear, node, step_runs


def reply_node(api_call_id: str, **fields):
    return node("reply", "api_call", api_call=api_call_id, **fields)


async def order_pk(db_rows, order_id: str) -> int:
    return (await db_rows(f"SELECT id FROM orders WHERE order_id = '{order_id}'"))[0]["id"]


async def test_two_500s_then_success_is_retried_with_one_idempotency_key(
        api_call, published, create_order, get_order, run_worker, demo_calls):
    await api_call(demo_call("flaky", "/responses?fail=2"))
    await published(linear("flaky-bp", reply_node("flaky", save={"intent": "response.body.intent"}),
                           result="vars.intent"))
    await create_order("o-flaky", "flaky-bp", {})
    await run_worker()

    order = await get_order("o-flaky")
    assert order["state"] == "completed", order["error"]
    assert step_runs(order) == [("start", 1, "completed"), ("reply", 1, "retrying"),
                                ("reply", 2, "retrying"), ("reply", 3, "completed"),
                                ("end", 1, "completed")]
    assert order["result"] == "general"
    assert order["vars"] == {"intent": "general"}
    retries = order["steps"][1:3]
    assert [step["error"]["code"] for step in retries] == ["http_status", "http_status"]
    assert [step["error"]["transient"] for step in retries] == [True, True]
    assert [step["response"]["status"] for step in order["steps"][1:4]] == [500, 500, 200]
    assert {step["request"]["headers"]["Idempotency-Key"] for step in order["steps"][1:4]} == {
        "o-flaky:reply"}
    calls = await demo_calls()
    assert [(call["idempotency_key"], call["status"]) for call in calls] == [
        ("o-flaky:reply", 500), ("o-flaky:reply", 500), ("o-flaky:reply", 200)]


async def test_429_retry_after_is_a_floor_on_the_delay(api_call, published, create_order,
                                                       get_order, runner, db_rows, wake,
                                                       run_worker, demo_calls):
    await api_call(demo_call("limited", "/responses?fail=1&fail_status=429"))
    await published(linear("limited-bp", reply_node("limited")))
    await create_order("o-429", "limited-bp", {})
    await runner.redis.flushdb()  # this test drives the one activation itself

    await runner.activate(await order_pk(db_rows, "o-429"))
    order = await get_order("o-429")
    assert (order["state"], order["current_node"]) == ("retrying", "reply")
    assert step_runs(order) == [("start", 1, "completed"), ("reply", 1, "retrying")]
    retried = order["steps"][-1]
    assert retried["response"]["headers"]["retry-after"] == "1"
    delay = datetime.fromisoformat(order["wake_at"]) - datetime.fromisoformat(
        retried["finished_at"])
    assert timedelta(seconds=1) <= delay < timedelta(seconds=1.5)  # jitter alone: <= 0.01 s

    await runner.redis.flushdb()
    await wake("o-429")
    await run_worker()
    order = await get_order("o-429")
    assert order["state"] == "completed", order["error"]
    assert step_runs(order)[1:] == [("reply", 1, "retrying"), ("reply", 2, "completed"),
                                    ("end", 1, "completed")]
    assert [(c["idempotency_key"], c["status"]) for c in await demo_calls()] == [
        ("o-429:reply", 429), ("o-429:reply", 200)]


async def test_permanent_failure_follows_the_failed_edge_with_error_in_scope(
        api_call, published, create_order, get_order, run_worker, demo_calls):
    await api_call(demo_call("refused", "/responses?fail=always&fail_status=400"))
    note = node("note", "function", function="get",
                args={"obj": "error", "path": "'details.response.status'"},
                save={"status": "result", "code": "error.code", "failed": "error.node"})
    doc = {"id": "fallback-bp", "name": "fallback", "nodes": [
        node("start", "start"), reply_node("refused", save={"intent": "response.body.intent"}),
        note, node("ok", "end", result="vars.intent"),
        node("recovered", "end", result="'recovered ' ~ vars.code")],
        "edges": [edge("start", "reply"), edge("reply", "ok"), edge("reply", "note", "failed"),
                  edge("note", "recovered")]}
    await published(doc)
    await create_order("o-fallback", "fallback-bp", {})
    await run_worker()

    order = await get_order("o-fallback")
    assert order["state"] == "completed", order["error"]
    assert step_runs(order) == [("start", 1, "completed"), ("reply", 1, "failed"),
                                ("note", 1, "completed"), ("recovered", 1, "completed")]
    assert order["vars"] == {"status": 400, "code": "http_status", "failed": "reply"}
    assert order["result"] == "recovered http_status"
    assert order["steps"][1]["error"]["transient"] is False
    assert order["steps"][2]["saved"] == {"status": 400, "code": "http_status", "failed": "reply"}
    assert [(c["idempotency_key"], c["status"]) for c in await demo_calls()] == [
        ("o-fallback:reply", 400)]


async def test_permanent_failure_without_failed_edge_fails_the_order(
        api_call, published, create_order, get_order, run_worker, demo_calls):
    await api_call(demo_call("refused", "/responses?fail=always&fail_status=404"))
    await published(linear("strict-bp", reply_node("refused")))
    await create_order("o-strict", "strict-bp", {})
    await run_worker()

    order = await get_order("o-strict")
    assert order["state"] == "failed"
    assert step_runs(order) == [("start", 1, "completed"), ("reply", 1, "failed")]
    assert order["failed_node"] == "reply"
    assert order["current_node"] == "reply"
    assert order["result"] is None
    error = order["error"]
    assert (error["code"], error["message"], error["node"], error["attempt"]) == (
        "http_status", "HTTP 404", "reply", 1)
    assert error["details"]["response"]["body"] == {"error": "injected failure 1 (always)"}
    assert order["steps"][-1]["error"] == error
    assert len(await demo_calls()) == 1


async def test_transient_failures_exhaust_the_retries(api_call, published, create_order,
                                                      get_order, run_worker, demo_calls):
    retry = {"max_attempts": 3, "initial_s": 0.01, "backoff": 2, "max_s": 0.02}
    await api_call(demo_call("down", "/responses?fail=always&fail_status=503", retry=retry))
    await published(linear("down-bp", reply_node("down")))
    await create_order("o-down", "down-bp", {})
    await run_worker()

    order = await get_order("o-down")
    assert order["state"] == "failed"
    assert step_runs(order)[1:] == [("reply", 1, "retrying"), ("reply", 2, "retrying"),
                                    ("reply", 3, "failed")]
    assert (order["error"]["code"], order["error"]["transient"], order["error"]["attempt"]) == (
        "http_status", True, 3)
    assert [(c["idempotency_key"], c["status"]) for c in await demo_calls()] == [
        ("o-down:reply", 503)] * 3


async def test_node_retry_policy_overrides_the_api_calls(api_call, published, create_order,
                                                         get_order, run_worker, demo_calls):
    await api_call(demo_call("down", "/responses?fail=always"))  # the call's own: 4 attempts
    await published(linear("once-bp", reply_node("down", retry={"max_attempts": 1})))
    await create_order("o-once", "once-bp", {})
    await run_worker()

    order = await get_order("o-once")
    assert order["state"] == "failed"
    assert step_runs(order)[1:] == [("reply", 1, "failed")]
    assert len(await demo_calls()) == 1


async def test_a_retry_due_before_the_lease_is_released_is_not_lost(
        api_call, published, create_order, get_order, run_worker, monkeypatch):
    """A retry's wake-up may fire before the activation that queued it has finished; it must
    not find the order still leased (and give up on it)."""
    release = Runner._release

    async def slow_release(self, order_pk, token):
        await asyncio.sleep(0.3)  # a slow database round trip
        await release(self, order_pk, token)

    monkeypatch.setattr(Runner, "_release", slow_release)
    await api_call(demo_call("flaky", "/responses?fail=1"))
    await published(linear("slow-db-bp", reply_node("flaky")))
    await create_order("o-slow-db", "slow-db-bp", {})
    await run_worker()

    order = await get_order("o-slow-db")
    assert step_runs(order)[1:] == [("reply", 1, "retrying"), ("reply", 2, "completed"),
                                    ("end", 1, "completed")]
    assert order["state"] == "completed"
