"""`GET /api/orders/{id}/events`: Server-Sent Events, a `snapshot` first, then each step
event as a worker publishes it. Read over a real socket: the stream never ends by itself."""

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from backend.core import embedded_redis, events
from backend.orders import service
from tests.orders.builders import demo_call, linear, node


@pytest.fixture
async def served(live_app) -> AsyncIterator[str]:
    """The live app on a real loopback port (its lifespan is already open)."""
    port = embedded_redis.free_port()
    server = uvicorn.Server(uvicorn.Config(live_app, host="127.0.0.1", port=port,
                                          log_level="warning", lifespan="off",
                                          timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def sse(response: httpx.Response) -> AsyncIterator[tuple[str, dict]]:
    """(event, data) pairs of an event stream."""
    kind, data = "message", []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line == "":
            if data:
                yield kind, json.loads("\n".join(data))
            kind, data = "message", []
        elif line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())


async def collect_until_done(stream: AsyncIterator[tuple[str, dict]]) -> list[tuple[str, dict]]:
    seen = []
    async for kind, data in stream:
        seen.append((kind, data))
        if kind == "step_finished" and data["state"] in ("completed", "failed"):
            return seen
    return seen


@pytest.fixture
async def quick_order(api_call, published, create_order):
    await api_call(demo_call("ok", "/responses"))
    await published(linear("live-bp", node("call", "api_call", api_call="ok")))
    await create_order("o-live", "live-bp", {})


@pytest.mark.usefixtures("quick_order")
async def test_a_snapshot_then_the_steps_as_they_happen(served, run_worker):
    async with httpx.AsyncClient(base_url=served, timeout=10) as http, \
            http.stream("GET", "/api/orders/o-live/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = sse(response)
        kind, snapshot = await asyncio.wait_for(anext(stream), 5)
        assert kind == "snapshot"
        assert (snapshot["order_id"], snapshot["state"], snapshot["steps"]) == (
            "o-live", "pending", [])
        worker = asyncio.create_task(run_worker())
        seen = await asyncio.wait_for(collect_until_done(stream), 10)
        await worker

    assert [(kind, data["node"]) for kind, data in seen] == [
        ("step_started", "start"), ("step_finished", "start"),
        ("step_started", "call"), ("step_finished", "call"),
        ("step_started", "end"), ("step_finished", "end")]
    finished = [data for kind, data in seen if kind == "step_finished"]
    assert [(d["status"], d["state"], d["attempt"]) for d in finished] == [
        ("completed", "running", 1), ("completed", "running", 1), ("completed", "completed", 1)]
    assert {data["order_id"] for _, data in seen} == {"o-live"}


async def test_events_of_an_unknown_order_are_a_404(served):
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:
        response = await http.get("/api/orders/nope/events")
    assert response.status_code == 404


@pytest.mark.usefixtures("quick_order")
async def test_no_event_is_lost_between_the_snapshot_and_the_subscription(served, live_app,
                                                                           monkeypatch):
    read_order = service.get_order
    redis = live_app.state.waybill.redis

    async def read_then_a_step_finishes(**kwargs):
        order = await read_order(**kwargs)
        await events.publish(redis, "o-live", [{"type": "step_finished", "node": "start",
                                                "attempt": 1, "status": "completed",
                                                "state": "running", "error": None}])
        return order

    monkeypatch.setattr(service, "get_order", read_then_a_step_finishes)
    async with httpx.AsyncClient(base_url=served, timeout=5) as http, \
            http.stream("GET", "/api/orders/o-live/events") as response:
        stream = sse(response)
        assert (await asyncio.wait_for(anext(stream), 5))[0] == "snapshot"
        kind, data = await asyncio.wait_for(anext(stream), 0.5)
    assert (kind, data["node"]) == ("step_finished", "start")
