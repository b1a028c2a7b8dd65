"""Limits shared by every worker: an API call's `rate_limit` and `max_in_flight` (through
Redis), and a blueprint's concurrency key (through the database). Two real arq workers run
the orders against a mock API that logs when each request arrived and left."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import served
from tests.orders.builders import linear, node


@dataclass
class Mock:
    url: str
    hits: list[tuple[str, float, float]] = field(default_factory=list)  # (customer, in, out)
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    most_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    delay_s: float = 0.0

    @property
    def allow(self) -> list[str]:
        return [self.url.removeprefix("http://")]


@pytest.fixture
async def mock_api() -> AsyncIterator[Mock]:
    mock = Mock(url="")

    async def hit(request: Request) -> JSONResponse:
        customer = (await request.json()).get("customer", "")
        arrived = time.monotonic()
        mock.in_flight[customer] += 1
        mock.in_flight["*"] += 1
        for who in (customer, "*"):
            mock.most_in_flight[who] = max(mock.most_in_flight[who], mock.in_flight[who])
        try:
            await asyncio.sleep(mock.delay_s)
        finally:
            mock.in_flight[customer] -= 1
            mock.in_flight["*"] -= 1
        mock.hits.append((customer, arrived, time.monotonic()))
        return JSONResponse({"ok": True})

    async with served(Starlette(routes=[Route("/hit", hit, methods=["POST"])])) as url:
        mock.url = url
        yield mock


def call(api_call_id: str, mock: Mock, **limits: object) -> dict:
    return {"id": api_call_id, "name": api_call_id, "method": "POST", "url": f"{mock.url}/hit",
            "body": {"customer": "{{ input.customer }}", "order": "{{ order.id }}"},
            "retry": {"max_attempts": 1}, **limits}


def most_in_any_second(moments: list[float]) -> int:
    moments = sorted(moments)
    return max(sum(1 for later in moments[i:] if later < moment + 1.0)
               for i, moment in enumerate(moments))


async def make_orders(live_client, blueprint: str, customers: list[str]) -> list[str]:
    ids = []
    for index, customer in enumerate(customers):
        order_id = f"{blueprint}-{index:02d}"
        response = await live_client.post("/api/orders", json={
            "order_id": order_id, "blueprint": blueprint, "input": {"customer": customer}})
        assert response.status_code == 201, response.text
        ids.append(order_id)
    return ids


async def two_workers(run_worker, mock: Mock) -> None:
    await asyncio.gather(run_worker(outbound_allow=mock.allow),
                         run_worker(outbound_allow=mock.allow))


async def test_a_rate_limit_holds_across_two_workers(live_client, api_call, published,
                                                     get_order, run_worker, mock_api):
    await api_call(call("carrier", mock_api, rate_limit={"per_s": 5, "burst": 5}))
    await published(linear("rated", node("label", "api_call", api_call="carrier")))
    ids = await make_orders(live_client, "rated", ["c"] * 40)

    await two_workers(run_worker, mock_api)

    orders = [await get_order(order_id) for order_id in ids]
    assert [order["state"] for order in orders] == ["completed"] * 40
    assert len(mock_api.hits) == 40
    # in any window of one second: the rate (5) plus the burst (5), whoever sent them
    assert most_in_any_second([arrived for _, arrived, _ in mock_api.hits]) <= 10
    arrivals = sorted(arrived for _, arrived, _ in mock_api.hits)
    assert arrivals[-1] - arrivals[0] >= (40 - 5) / 5 - 0.5
    throttled = [step for order in orders for step in order["steps"]
                 if step["status"] == "throttled"]
    assert throttled, "orders that waited show it on their timeline"
    assert throttled[0]["node"] == "label"
    assert throttled[0]["response"]["limit"] == "rate_limit"
    # one timeline line per wait, and the attempt that finally ran is the first
    for order in orders:
        label = [step for step in order["steps"] if step["node"] == "label"]
        assert [step["status"] for step in label] in (["completed"], ["throttled", "completed"])
        assert {step["attempt"] for step in label} == {1}


async def test_max_in_flight_caps_calls_being_sent(live_client, api_call, published,
                                                   get_order, run_worker, mock_api):
    mock_api.delay_s = 0.1
    await api_call(call("slow", mock_api, max_in_flight=2))
    await published(linear("capped", node("label", "api_call", api_call="slow")))
    ids = await make_orders(live_client, "capped", [f"c{i}" for i in range(12)])

    await two_workers(run_worker, mock_api)

    assert [(await get_order(order_id))["state"] for order_id in ids] == ["completed"] * 12
    assert mock_api.most_in_flight["*"] == 2


async def test_a_concurrency_key_runs_one_order_per_customer_at_a_time(
        live_client, api_call, published, get_order, run_worker, mock_api):
    mock_api.delay_s = 0.05
    await api_call(call("crm", mock_api))
    await published(linear("per-customer", node("first", "api_call", api_call="crm"),
                           node("second", "api_call", api_call="crm"),
                           concurrency={"key": "input.customer", "limit": 1}))
    customers = ["ann", "bob", "cy"] * 4
    ids = await make_orders(live_client, "per-customer", customers)

    listed = (await live_client.get("/api/orders", params={"state": "queued"})).json()["data"]
    assert sorted(order["order_id"] for order in listed) == sorted(ids[3:])
    stats = (await live_client.get("/api/stats/orders", params={"blueprint": "per-customer"}))
    assert stats.json()["counts"]["queued"] == 9, stats.text

    await two_workers(run_worker, mock_api)

    orders = {order_id: await get_order(order_id) for order_id in ids}
    assert {order["state"] for order in orders.values()} == {"completed"}
    for customer in ("ann", "bob", "cy"):
        assert mock_api.most_in_flight[customer] == 1
        spans = sorted((arrived, left) for who, arrived, left in mock_api.hits if who == customer)
        assert all(left <= next_in for (_, left), (next_in, _) in itertools.pairwise(spans))
        # in the order they were created
        mine = [order_id for order_id, who in zip(ids, customers, strict=True) if who == customer]
        started = [orders[order_id]["steps"][0]["started_at"] for order_id in mine]
        assert started == sorted(started)
    assert mock_api.most_in_flight["*"] > 1, "other customers ran meanwhile"


async def test_a_cancelled_order_frees_its_slot(live_client, api_call, published, get_order,
                                                run_worker, mock_api):
    await api_call(call("crm2", mock_api))
    await published(linear("one-at-a-time", node("nap", "sleep", duration="1h"),
                           node("tell", "api_call", api_call="crm2"),
                           concurrency={"key": "input.customer", "limit": 1}))
    first, second = await make_orders(live_client, "one-at-a-time", ["ann", "ann"])
    await run_worker(outbound_allow=mock_api.allow)
    assert (await get_order(first))["state"] == "sleeping"
    assert (await get_order(second))["state"] == "queued"

    response = await live_client.post(f"/api/orders/{first}/cancel")
    assert response.status_code == 200, response.text
    assert (await get_order(second))["state"] == "pending"
    await run_worker(outbound_allow=mock_api.allow)
    assert (await get_order(second))["state"] == "sleeping"


async def test_a_concurrency_key_missing_from_the_input_is_a_422(live_client, published):
    await published(linear("keyed", concurrency={"key": "input.customer", "limit": 1}))
    response = await live_client.post("/api/orders", json={
        "order_id": "k-1", "blueprint": "keyed", "input": {}})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "concurrency_key"
    assert (await live_client.get("/api/orders/k-1")).status_code == 404
