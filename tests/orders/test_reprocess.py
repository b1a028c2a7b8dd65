"""Reprocess of failed orders: a dry run first, then from the start or from the failed step,
by ids or by filter; the steps run again with the same idempotency keys."""

import asyncio
import os
import sys

import pytest

from tests.orders.builders import demo_call, linear, node, step_runs

ORDERS = ("p1", "p2", "p3")


@pytest.fixture
async def failed_orders(api_call, published, create_order, run_worker, get_order):
    """Three orders failed at `b`, whose call fails once (400) per idempotency key."""
    await api_call(demo_call("ok", "/responses"))
    await api_call(demo_call("once-bad", "/responses?fail=1&fail_status=400"))
    await published(linear(
        "re-bp", node("a", "api_call", api_call="ok", save={"a": "response.body.id"}),
        node("b", "api_call", api_call="once-bad", save={"b": "response.body.intent"}),
        result="vars.a ~ '/' ~ vars.b"))
    for order_id in ORDERS:
        await create_order(order_id, "re-bp", {})
    await run_worker()
    orders = {order_id: await get_order(order_id) for order_id in ORDERS}
    for order in orders.values():
        assert (order["state"], order["failed_node"]) == ("failed", "b")
        assert step_runs(order) == [("start", 1, "completed"), ("a", 1, "completed"),
                                    ("b", 1, "failed")]
    return orders


async def reprocess(client, body):
    response = await client.post("/api/orders/reprocess", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def calls_of(calls, order_id):
    return [(call["idempotency_key"], call["status"]) for call in calls
            if call["idempotency_key"].startswith(f"{order_id}:")]


async def test_dry_run_counts_and_changes_nothing(failed_orders, live_client, get_order,
                                                  run_worker, demo_calls):
    for source in ("failed", "start"):
        answer = await reprocess(live_client, {"order_ids": ["p1", "p2", "nope"],
                                               "from": source, "dry_run": True})
        assert answer == {"dry_run": True, "count": 2, "order_ids": ["p1", "p2"],
                          "steps": {"b" if source == "failed" else "start": 2}}
    answer = await reprocess(live_client, {"filter": {"failed_node": "b"}, "from": "failed",
                                           "dry_run": True})
    assert (answer["count"], answer["steps"]) == (3, {"b": 3})
    await run_worker()
    for order_id in ORDERS:
        assert await get_order(order_id) == failed_orders[order_id]
    assert len(await demo_calls()) == 6


async def test_from_the_failed_step_by_ids(failed_orders, live_client, get_order, run_worker,
                                           demo_calls):
    answer = await reprocess(live_client, {"order_ids": ["p1", "p2"], "from": "failed"})
    assert answer == {"dry_run": False, "count": 2, "order_ids": ["p1", "p2"],
                      "steps": {"b": 2}}
    assert (await get_order("p1"))["state"] == "pending"
    await run_worker()

    for order_id in ("p1", "p2"):
        order = await get_order(order_id)
        assert order["state"] == "completed", order["error"]
        assert step_runs(order) == [("start", 1, "completed"), ("a", 1, "completed"),
                                    ("b", 1, "failed"), ("b", 1, "completed"),
                                    ("end", 1, "completed")]
        assert order["vars"] == {"a": f"resp_{order_id}", "b": "general"}
        assert order["result"] == f"resp_{order_id}/general"
        assert calls_of(await demo_calls(), order_id) == [
            (f"{order_id}:a", 200), (f"{order_id}:b", 400), (f"{order_id}:b", 200)]
    assert await get_order("p3") == failed_orders["p3"]


async def test_from_the_start_by_filter(failed_orders, live_client, get_order, run_worker,
                                        demo_calls):
    body = {"filter": {"state": "failed", "blueprint": "re-bp"}, "from": "start"}
    assert (await reprocess(live_client, body | {"dry_run": True}))["count"] == 3
    answer = await reprocess(live_client, body)
    assert (answer["count"], answer["steps"], answer["order_ids"]) == (3, {"start": 3},
                                                                       list(ORDERS))
    reset = await get_order("p3")
    assert (reset["state"], reset["current_node"], reset["vars"], reset["error"],
            reset["failed_node"]) == ("pending", "start", {}, None, None)
    await run_worker()

    calls = await demo_calls()
    for order_id in ORDERS:
        order = await get_order(order_id)
        assert order["state"] == "completed", order["error"]
        assert step_runs(order) == [("start", 1, "completed"), ("a", 1, "completed"),
                                    ("b", 1, "failed"), ("start", 1, "completed"),
                                    ("a", 1, "completed"), ("b", 1, "completed"),
                                    ("end", 1, "completed")]
        assert order["result"] == f"resp_{order_id}/general"
        assert (order["error"], order["failed_node"]) == (None, None)
        assert calls_of(calls, order_id) == [(f"{order_id}:a", 200), (f"{order_id}:b", 400),
                                             (f"{order_id}:a", 200), (f"{order_id}:b", 200)]
    assert (await reprocess(live_client, body | {"dry_run": True}))["count"] == 0


async def test_the_failed_step_is_the_default(failed_orders, live_client, get_order, run_worker,
                                             demo_calls):
    """Without `from`, orders restart at their failed step: the steps that already
    succeeded (a refund, say) are not called again, and their saved values are kept."""
    answer = await reprocess(live_client, {"order_ids": ["p1", "p2"], "dry_run": True})
    assert (answer["count"], answer["steps"]) == (2, {"b": 2})
    answer = await reprocess(live_client, {"filter": {"state": "failed"}})
    assert (answer["count"], answer["steps"]) == (3, {"b": 3})
    await run_worker()
    for order_id in ORDERS:
        order = await get_order(order_id)
        assert order["state"] == "completed", order["error"]
        assert order["vars"]["a"] == f"resp_{order_id}"
        assert calls_of(await demo_calls(), order_id) == [
            (f"{order_id}:a", 200), (f"{order_id}:b", 400), (f"{order_id}:b", 200)]


async def test_orders_still_active_are_not_reprocessed(failed_orders, live_client, published,
                                                       create_order, run_worker, get_order):
    await published(linear("nap-bp", node("nap", "sleep", duration="1h")))
    await create_order("napping", "nap-bp", {})
    await run_worker()
    before = await get_order("napping")
    answer = await reprocess(live_client, {"order_ids": ["napping"], "from": "start"})
    assert answer["count"] == 0
    assert await get_order("napping") == before


async def test_a_reprocessed_order_that_completes_drops_the_old_failure(
        failed_orders, live_client, get_order, run_worker):
    await reprocess(live_client, {"order_ids": ["p1"], "from": "failed"})
    await run_worker()
    order = await get_order("p1")
    assert order["state"] == "completed"
    assert (order["error"], order["failed_node"]) == (None, None)
    # a later "reprocess everything that failed at b" must not pick the completed order again
    answer = await reprocess(live_client, {"filter": {"failed_node": "b"}, "dry_run": True})
    assert answer["order_ids"] == ["p2", "p3"]


async def test_the_cli_reprocesses_by_filter(failed_orders, live_settings, get_order,
                                             run_worker):
    """`waybill orders reprocess`: a dry run, then the real thing, from the failed step
    (the default: `--from start` has to be asked for)."""
    env = dict(os.environ, DATABASE_URL=live_settings.database_url,
               REDIS_URL=live_settings.redis_url, SECRET_KEY="test-secret-key",
               LOAD_EXAMPLES="false", DATA_DIR=str(live_settings.data_dir))
    command = [sys.executable, "-m", "backend.app.cli", "orders", "reprocess", "--state", "failed",
               "--blueprint", "re-bp"]

    async def waybill(*extra):
        process = await asyncio.create_subprocess_exec(
            *command, *extra, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return " ".join(out.decode().split())

    assert await waybill("--dry-run", "--from", "start") == (
        "3 order(s) would run again; restarting at: {'start': 3}")
    assert await waybill("--dry-run") == "3 order(s) would run again; restarting at: {'b': 3}"
    assert (await get_order("p1"))["state"] == "failed"
    assert await waybill() == "3 order(s) queued again; restarting at: {'b': 3}"
    await run_worker()
    for order_id in ORDERS:
        order = await get_order(order_id)
        assert order["state"] == "completed", order["error"]
        assert step_runs(order)[-2:] == [("b", 1, "completed"), ("end", 1, "completed")]
