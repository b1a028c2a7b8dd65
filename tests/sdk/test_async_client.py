"""`AsyncClient`: the blocking client's methods as coroutines, on the same server and worker."""

from __future__ import annotations

import asyncio

import pytest
from waybill import AsyncClient, OrderCancelled, OrderFailed, Unauthorized

from tests.sdk.conftest import TOKEN


async def test_execute_returns_the_result_of_a_completing_order(url, worker):
    async with AsyncClient(url) as client:
        assert await client.execute("sdk-double", order_id="a-1", input={"n": 4},
                                    timeout=20) == 8
        order = await client.get("a-1")
    assert (order.state, order.result) == ("completed", 8)
    assert [step.node for step in order.steps] == ["start", "end"]


async def test_a_failing_order_raises_order_failed_naming_the_step(url, worker):
    async with AsyncClient(url) as client:
        with pytest.raises(OrderFailed) as failed:
            await client.execute("sdk-refuse", timeout=20)
        assert failed.value.failed_step == "refuse" and "'refuse'" in str(failed.value)
        again = await client.reprocess(order_ids=[failed.value.order.order_id], dry_run=True)
        assert (again, again.steps) == (1, {"refuse": 1})


async def test_a_signal_resumes_a_waiting_order(url, worker):
    async with AsyncClient(url) as client:
        handle = await client.start("sdk-approval", order_id="a-wait")
        seen, signalled = [], False
        async for event in handle.watch(timeout=20):
            seen.append((event.type, event.data.get("node"), event.state))
            if event.state == "waiting" and not signalled:
                await handle.signal("approved", {"by": "ana"})
                signalled = True
        assert await handle.result(timeout=20) == "ana"
    assert seen[0][0] == "snapshot" and signalled
    assert ("step_finished", "approval", "running") in seen  # the wait ended
    assert ("step_finished", "end", "completed") in seen
    assert seen[-1][0::2] == ("final", "completed")


async def test_cancel_ends_the_wait(url, worker):
    async with AsyncClient(url) as client:
        handle = await client.start("sdk-approval")
        waiting = asyncio.create_task(handle.result(timeout=20))
        await asyncio.sleep(0.3)
        assert (await handle.cancel()).state == "cancelled"
        with pytest.raises(OrderCancelled):
            await waiting


async def test_orders_and_polling_without_events(url, redisless_url, worker):
    async with AsyncClient(url) as client:
        for index in range(5):
            await client.start("sdk-double", order_id=f"b-{index}", input={"n": index})
        ids = [order.order_id async for order in client.orders(order_id="b-", page_size=2)]
    assert sorted(ids) == [f"b-{index}" for index in range(5)]
    async with AsyncClient(redisless_url) as polling:
        assert await polling.handle("b-3").result(timeout=20) == 6


async def test_a_wrong_token_is_unauthorized(guarded_url):
    async with AsyncClient(guarded_url, token="nope") as client:
        with pytest.raises(Unauthorized):
            await client.get("any")
    async with AsyncClient(guarded_url, token=TOKEN) as client:
        assert [order async for order in client.orders()] == []
