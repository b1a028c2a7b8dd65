"""Signals: a waiting order resumes with the payload in scope; a signal sent early is kept
until the order reaches its wait; a timeout takes the `failed` edge."""

import asyncio
from datetime import datetime, timedelta

from backend.orders.dispatch import sweep
from tests.orders.builders import demo_call, edge, linear, node, step_runs

WAIT = node("wait", "wait_signal", signal="approved", timeout="1h",
            save={"x": "signal.amount", "who": "signal.by"})


async def signal(client, order_id, name, payload, status=202):
    response = await client.post(f"/api/orders/{order_id}/signals/{name}", json=payload)
    assert response.status_code == status, response.text
    return response.json()


async def signal_rows(db_rows, order_id):
    return await db_rows(
        "SELECT s.name, s.consumed_at FROM signals s JOIN orders o ON o.id = s.order_pk "
        f"WHERE o.order_id = '{order_id}' ORDER BY s.id")


async def test_a_signal_resumes_a_waiting_order(live_client, published, create_order,
                                                get_order, run_worker, db_rows):
    await published(linear("sig-bp", WAIT, result="vars.x"))
    await create_order("o-sig", "sig-bp", {})
    await run_worker()
    order = await get_order("o-sig")
    assert (order["state"], order["current_node"]) == ("waiting", "wait")
    assert step_runs(order) == [("start", 1, "completed"), ("wait", 1, "waiting")]
    assert order["steps"][-1]["response"]["waiting_for"] == "approved"
    deadline = datetime.fromisoformat(order["wake_at"]) - datetime.fromisoformat(
        order["steps"][-1]["finished_at"])
    assert abs(deadline - timedelta(hours=1)) < timedelta(seconds=5)

    answer = await signal(live_client, "o-sig", "approved", {"amount": 42, "by": "kim"})
    assert answer["state"] == "waiting"
    await run_worker()
    order = await get_order("o-sig")
    assert order["state"] == "completed", order["error"]
    assert step_runs(order) == [("start", 1, "completed"), ("wait", 1, "waiting"),
                                ("wait", 1, "completed"), ("end", 1, "completed")]
    assert order["vars"] == {"x": 42, "who": "kim"}
    assert order["result"] == 42
    assert order["steps"][2]["saved"] == {"x": 42, "who": "kim"}
    assert order["steps"][2]["response"] == {"signal": "approved",
                                             "payload": {"amount": 42, "by": "kim"}}
    rows = await signal_rows(db_rows, "o-sig")
    assert [row["name"] for row in rows] == ["approved"]
    assert rows[0]["consumed_at"] is not None
    await signal(live_client, "o-sig", "approved", {"amount": 1}, status=409)


async def test_a_signal_sent_before_the_wait_is_kept(live_client, published, create_order,
                                                     get_order, run_worker, wake, db_rows):
    await published(linear("early-bp", node("nap", "sleep", duration="1h"), WAIT,
                           result="vars.x"))
    await create_order("o-early", "early-bp", {})
    await run_worker()
    assert (await get_order("o-early"))["state"] == "sleeping"

    await signal(live_client, "o-early", "approved", {"amount": 7, "by": "lee"})
    await run_worker()
    order = await get_order("o-early")
    assert (order["state"], order["current_node"]) == ("sleeping", "nap")
    assert (await signal_rows(db_rows, "o-early"))[0]["consumed_at"] is None

    await wake("o-early")
    await run_worker()
    order = await get_order("o-early")
    assert order["state"] == "completed", order["error"]
    assert step_runs(order) == [("start", 1, "completed"), ("nap", 1, "sleeping"),
                                ("nap", 1, "completed"), ("wait", 1, "completed"),
                                ("end", 1, "completed")]
    assert order["vars"] == {"x": 7, "who": "lee"}
    assert (await signal_rows(db_rows, "o-early"))[0]["consumed_at"] is not None


async def test_each_signal_is_consumed_once(live_client, published, create_order, get_order,
                                            run_worker):
    second = node("again", "wait_signal", signal="approved", timeout="1h",
                  save={"y": "signal.amount"})
    await published(linear("twice-bp", WAIT, second, result="[vars.x, vars.y]"))
    await create_order("o-twice", "twice-bp", {})
    await signal(live_client, "o-twice", "approved", {"amount": 1, "by": "a"})
    await signal(live_client, "o-twice", "approved", {"amount": 2, "by": "b"})
    await run_worker()
    order = await get_order("o-twice")
    assert order["state"] == "completed", order["error"]
    assert order["result"] == [1, 2]
    assert step_runs(order) == [("start", 1, "completed"), ("wait", 1, "completed"),
                                ("again", 1, "completed"), ("end", 1, "completed")]


async def test_a_signal_sent_while_the_order_runs_is_not_missed(
        live_client, api_call, published, create_order, get_order, run_worker, demo_calls):
    await api_call(demo_call("slow", "/responses?delay_ms=700"))
    await published(linear("race-bp", node("slow", "api_call", api_call="slow"), WAIT,
                           result="vars.x"))
    await create_order("o-race", "race-bp", {})
    worker = asyncio.create_task(run_worker())
    for _ in range(200):
        if await demo_calls():
            break
        await asyncio.sleep(0.01)
    assert (await get_order("o-race"))["state"] == "running"
    await signal(live_client, "o-race", "approved", {"amount": 3, "by": "max"})
    await worker
    order = await get_order("o-race")
    assert order["state"] == "completed"
    assert order["result"] == 3


async def test_a_timeout_takes_the_failed_edge(published, create_order, get_order, run_worker):
    short = node("wait", "wait_signal", signal="approved", timeout="500ms",
                 save={"x": "signal.amount"})
    await published({"id": "late-bp", "name": "late", "nodes": [
        node("start", "start"), short, node("end", "end", result="vars.x"),
        node("late", "end", result="'timed out: ' ~ error.code")],
        "edges": [edge("start", "wait"), edge("wait", "end"), edge("wait", "late", "failed")]})
    await create_order("o-late", "late-bp", {})
    await run_worker()  # the burst worker waits for the deferred wake-up
    order = await get_order("o-late")
    assert order["state"] == "completed", order["error"]
    assert step_runs(order) == [("start", 1, "completed"), ("wait", 1, "waiting"),
                                ("wait", 1, "failed"), ("late", 1, "completed")]
    assert order["result"] == "timed out: signal_timeout"
    assert order["steps"][2]["error"]["code"] == "signal_timeout"
    waited = datetime.fromisoformat(order["steps"][2]["finished_at"]) - datetime.fromisoformat(
        order["steps"][1]["finished_at"])
    assert waited >= timedelta(seconds=0.45)


async def test_a_timeout_without_failed_edge_fails_the_order(published, create_order,
                                                             get_order, run_worker):
    short = node("wait", "wait_signal", signal="approved", timeout="500ms")
    await published(linear("late2-bp", short))
    await create_order("o-late2", "late2-bp", {})
    await run_worker()
    order = await get_order("o-late2")
    assert order["state"] == "failed"
    assert (order["failed_node"], order["error"]["code"]) == ("wait", "signal_timeout")
    assert step_runs(order)[1:] == [("wait", 1, "waiting"), ("wait", 1, "failed")]


async def test_signals_to_unknown_or_finished_orders_are_refused(live_client):
    await signal(live_client, "no-such-order", "approved", {}, status=404)


async def test_an_unrelated_signal_does_not_churn_a_waiting_order(
        live_client, live_app, live_settings, published, create_order, get_order, run_worker):
    await published(linear("churn-bp", WAIT))
    await create_order("o-churn", "churn-bp", {})
    await run_worker()
    await signal(live_client, "o-churn", "something-else", {"amount": 1})
    await run_worker()
    settled = await get_order("o-churn")
    state = live_app.state.waybill
    for _ in range(2):
        await sweep(state.sessions, state.redis, live_settings)
        await run_worker()
    order = await get_order("o-churn")
    assert order["state"] == "waiting"
    assert step_runs(order) == step_runs(settled) == [("start", 1, "completed"),
                                                      ("wait", 1, "waiting")]
