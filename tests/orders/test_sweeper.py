"""The sweeper: the database is the source of truth, so a Redis that lost its jobs (FLUSHDB)
or a worker that died holding a lease loses no order."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from backend.core.db import utcnow
from backend.core.queue import QUEUE, enqueue_activation, job_id
from backend.orders.dispatch import sweep
from backend.orders.models import Order
from tests.orders.builders import demo_call, linear, node, step_runs


@pytest.fixture
async def quick_bp(api_call, published):
    await api_call(demo_call("ok", "/responses"))
    await published(linear("quick-bp", node("call", "api_call", api_call="ok",
                                            save={"id": "response.body.id"}), result="vars.id"))


@pytest.mark.usefixtures("quick_bp")
async def test_the_workers_start_recovers_orders_redis_lost(live_app, create_order, get_order,
                                                            run_worker, demo_calls):
    for n in range(3):
        await create_order(f"s-{n}", "quick-bp", {})
    redis = live_app.state.waybill.redis
    assert await redis.zcard(QUEUE) == 3
    await redis.flushdb()

    await run_worker()  # its startup sweeps
    for n in range(3):
        order = await get_order(f"s-{n}")
        assert order["state"] == "completed", order["error"]
        assert order["result"] == f"resp_s-{n}"
        assert step_runs(order) == [("start", 1, "completed"), ("call", 1, "completed"),
                                    ("end", 1, "completed")]
    assert sorted(call["idempotency_key"] for call in await demo_calls()) == [
        "s-0:call", "s-1:call", "s-2:call"]


@pytest.mark.usefixtures("quick_bp", "examples")
async def test_sweep_enqueues_exactly_the_due_orders(live_app, live_settings, create_order,
                                                     get_order, run_worker):
    await create_order("far", "returns-approved", {"ticket_id": "1", "country": "CA",
                                                   "order_id": "2"})
    await create_order("done", "quick-bp", {})
    await run_worker()
    assert (await get_order("far"))["state"] == "sleeping"  # for 3 days
    await create_order("batch", "order-state-manager", {"order_id": "batch"})
    for order_id in ("due-1", "due-2"):
        await create_order(order_id, "quick-bp", {})
    state = live_app.state.waybill
    await state.redis.flushdb()

    assert await sweep(state.sessions, state.redis, live_settings) == 2
    assert await state.redis.zcard(QUEUE) == 2
    assert await sweep(state.sessions, state.redis, live_settings) == 2
    assert await state.redis.zcard(QUEUE) == 2  # enqueuing twice makes one job
    await run_worker()
    states = {order_id: (await get_order(order_id))["state"]
              for order_id in ("far", "done", "batch", "due-1", "due-2")}
    assert states == {"far": "sleeping", "done": "completed", "batch": "pending",
                      "due-1": "completed", "due-2": "completed"}
    assert await sweep(state.sessions, state.redis, live_settings) == 0


@pytest.mark.usefixtures("quick_bp")
async def test_an_expired_lease_is_recovered_a_live_one_is_not(live_app, live_settings,
                                                               create_order, get_order,
                                                               run_worker, db_rows):
    for order_id in ("dead", "alive"):
        await create_order(order_id, "quick-bp", {})
    state = live_app.state.waybill
    await state.redis.flushdb()
    now = utcnow()
    async with state.sessions() as session:  # as a worker that died mid-step leaves them
        for order_id, until in (("dead", now - timedelta(seconds=1)),
                                ("alive", now + timedelta(minutes=5))):
            await session.exec(update(Order).where(col(Order.order_id) == order_id).values(
                state="running", current_node="call", lease_owner="x", lease_until=until))
        await session.commit()

    assert await sweep(state.sessions, state.redis, live_settings) == 1
    await run_worker()
    dead, alive = await get_order("dead"), await get_order("alive")
    assert dead["state"] == "completed", dead["error"]
    assert step_runs(dead) == [("call", 1, "completed"), ("end", 1, "completed")]
    assert (alive["state"], alive["steps"]) == ("running", [])


async def test_a_wake_up_never_fires_before_its_order_is_due(live_app):
    redis = live_app.state.waybill.redis
    wake_at = (utcnow() + timedelta(minutes=1)).replace(microsecond=123_400)
    await enqueue_activation(redis, 42, wake_at)
    score = await redis.zscore(QUEUE, job_id(42, wake_at))
    earliest = (score - 0.5) / 1000  # arq runs a job once round(now in ms) >= its score
    assert earliest >= wake_at.timestamp()
