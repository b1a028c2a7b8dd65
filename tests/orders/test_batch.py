"""The seed's batch loop: up to BATCH_SIZE pending orders at once, CONCURRENCY at a time, and
the whole batch finished before the next is taken."""

import asyncio

import pytest

from backend.orders.dispatch import batch_loop, run_batch
from tests.orders.builders import demo_call, linear, node

ORDER_IDS = [f"b-{n}" for n in range(7)]


@pytest.fixture
async def batch_orders(api_call, published, create_order):
    await api_call(demo_call("slowish", "/responses?delay_ms=150"))
    await published(linear("batch-bp", node("call", "api_call", api_call="slowish"),
                           dispatch="batch"))
    for order_id in ORDER_IDS:
        await create_order(order_id, "batch-bp", {})


@pytest.fixture
def running(runner):
    """Counts the orders the runner holds at once (its `activate` calls in flight)."""
    seen = {"now": 0, "max": 0, "order": []}
    activate = runner.activate

    async def counted(order_pk: int) -> None:
        seen["now"] += 1
        seen["max"] = max(seen["max"], seen["now"])
        seen["order"].append(order_pk)
        try:
            await activate(order_pk)
        finally:
            seen["now"] -= 1

    runner.activate = counted
    return seen


async def states(client):
    listed = (await client.get("/api/orders")).json()["data"]
    return {order["order_id"]: order["state"] for order in listed}


@pytest.mark.usefixtures("batch_orders")
async def test_a_batch_holds_at_most_batch_size_orders(runner, running, live_settings,
                                                       live_client):
    settings = live_settings.model_copy(update={"batch_size": 3, "concurrency": 10})
    assert await run_batch(runner, settings) == 3
    assert running["max"] == 3
    after_one = await states(live_client)
    assert after_one == {order_id: "completed" if order_id in ORDER_IDS[:3] else "pending"
                         for order_id in ORDER_IDS}

    sizes = [await run_batch(runner, settings) for _ in range(3)]
    assert sizes == [3, 1, 0]
    assert running["max"] == 3
    assert running["order"] == sorted(running["order"])  # oldest first
    assert set((await states(live_client)).values()) == {"completed"}


@pytest.mark.usefixtures("batch_orders")
async def test_concurrency_caps_a_batch(runner, running, live_settings, live_client):
    settings = live_settings.model_copy(update={"batch_size": 5, "concurrency": 2})
    assert await run_batch(runner, settings) == 5
    assert running["max"] == 2
    assert list((await states(live_client)).values()).count("completed") == 5


@pytest.mark.usefixtures("batch_orders")
async def test_the_batch_loop_takes_batches_one_after_another(runner, running, live_settings,
                                                              live_client):
    settings = live_settings.model_copy(update={"batch_size": 3, "concurrency": 10,
                                                "batch_interval_s": 0.05})
    loop = asyncio.create_task(batch_loop(runner, settings))
    try:
        for _ in range(500):
            if set((await states(live_client)).values()) == {"completed"}:
                break
            await asyncio.sleep(0.02)
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    assert set((await states(live_client)).values()) == {"completed"}
    assert running["max"] == 3
    assert len(running["order"]) == 7
