"""The replay lab: past orders of the returns example run through an edited draft, as users
ask for it (through the API, answered by a real worker), calling nothing, writing nothing."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from backend.blueprints.files import EXAMPLES
from backend.core.queue import QUEUE

Json = dict[str, Any]
CASES = {  # order id: the input's flags
    "us-1": {"country": "US", "condition": "A", "match": True},
    "us-2": {"country": "US", "condition": "B", "match": True, "cancel_subscription": True},
    "us-3": {"country": "US", "condition": "A", "match": False},
    "ca-1": {"country": "CA", "condition": "A", "match": True},
    "ca-2": {"country": "CA", "condition": "B", "match": False, "cancel_subscription": True},
}


def returns_input(order_id: str, flags: Json) -> Json:
    return {"ticket_id": f"T-{order_id}", "order_id": f"ORD-{order_id}",
            "message": "The strap broke", "customer_email": "kim@example.com", **flags}


@pytest.fixture
async def past_orders(examples, create_order, run_worker, wake, get_order) -> dict[str, Json]:
    """Five returns orders run to the end on v1 (US and CA paths, refunds and not)."""
    for order_id, flags in CASES.items():
        await create_order(order_id, "returns-approved", returns_input(order_id, flags))
    await run_worker()
    for order_id in CASES:
        await wake(order_id)
    await run_worker()
    orders = {order_id: await get_order(order_id) for order_id in CASES}
    assert {order["state"] for order in orders.values()} == {"completed"}
    return orders


@pytest.fixture
def returns_doc() -> Json:
    """The returns example as a blueprint body, to edit into a draft."""
    return json.loads((EXAMPLES / "returns-approved.json").read_text())


@pytest.fixture
def put_draft(live_client: httpx.AsyncClient) -> Callable[[Json], Awaitable[None]]:
    async def put(doc: Json) -> None:
        response = await live_client.put(f"/api/blueprints/{doc['id']}", json=doc)
        assert response.status_code == 200, response.text

    return put


@pytest.fixture
def replay(live_client: httpx.AsyncClient, live_app: FastAPI,
           run_worker) -> Callable[..., Awaitable[httpx.Response]]:
    """POST the replay, and let a real worker (burst mode) take the job it queues."""

    async def ask(blueprint_id: str, body: Json) -> httpx.Response:
        redis = live_app.state.waybill.redis
        request = asyncio.create_task(live_client.post(f"/api/blueprints/{blueprint_id}/replay",
                                                       json=body))
        while not request.done() and not await redis.zcard(QUEUE):
            await asyncio.sleep(0.01)
        if not request.done():
            await run_worker()
        return await asyncio.wait_for(request, 30)

    return ask


def edited(doc: Json, **nodes: Json) -> Json:
    """`doc` with the named nodes' fields replaced."""
    doc = copy.deepcopy(doc)
    for node in doc["nodes"]:
        node.update(nodes.get(node["id"], {}))
    return doc


async def everything(db_rows) -> dict[str, list[Json]]:
    return {table: await db_rows(f"SELECT * FROM {table} ORDER BY id")
            for table in ("orders", "step_runs", "signals", "order_audit")}


async def test_an_unchanged_draft_replays_every_order_the_same(past_orders, replay, demo_calls,
                                                               db_rows):
    calls, rows = len(await demo_calls()), await everything(db_rows)
    response = await replay("returns-approved", {"version": "draft"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["summary"] == {"total": 5, "same": 5, "changed": 0, "unrecorded": 0,
                                 "skipped": 0}
    by_id = {entry["order_id"]: entry for entry in answer["orders"]}
    assert list(by_id) == list(reversed(CASES))  # newest first
    for order_id, entry in by_id.items():
        steps = [step["node"] for step in past_orders[order_id]["steps"]]
        visits = [node for index, node in enumerate(steps) if not index or steps[index - 1] != node]
        assert entry["before"]["path"] == entry["after"]["path"] == visits  # a sleep: one visit
        assert entry["after"]["state"] == "completed"
        assert entry["after"]["result"] == past_orders[order_id]["result"]
        assert (entry["changed"], entry["first_difference"], entry["unrecorded"]) == (
            False, None, [])
    assert len(await demo_calls()) == calls  # nothing was sent
    assert await everything(db_rows) == rows  # nothing was written


async def test_a_changed_condition_changes_the_us_orders_at_that_step(
        past_orders, replay, put_draft, returns_doc, demo_calls, db_rows):
    await put_draft(edited(returns_doc, is_us={"expression": "input.country == 'USA'"}))
    calls, rows = len(await demo_calls()), await everything(db_rows)
    answer = (await replay("returns-approved", {"version": "draft", "limit": 500})).json()
    by_id = {entry["order_id"]: entry for entry in answer["orders"]}
    for order_id in ("us-1", "us-2", "us-3"):
        entry = by_id[order_id]
        assert entry["changed"] is True
        difference = entry["first_difference"]
        assert difference["node"] == "is_us"
        assert (difference["before"]["value"], difference["after"]["value"]) == (True, False)
        assert (difference["before"]["next"], difference["after"]["next"]) == ("us_label",
                                                                               "ca_label")
        assert "ca_label" in entry["after"]["path"] and "us_label" not in entry["after"]["path"]
        assert entry["unrecorded"] == ["ca_label"]  # a call these orders never made: the mock
    for order_id in ("ca-1", "ca-2"):
        assert (by_id[order_id]["changed"], by_id[order_id]["first_difference"]) == (False, None)
    assert answer["summary"] == {"total": 5, "same": 2, "changed": 3, "unrecorded": 3,
                                 "skipped": 0}
    assert answer["nodes"] == {"is_us": {"changed": 3, "unrecorded": 0},
                               "ca_label": {"changed": 0, "unrecorded": 3}}
    assert len(await demo_calls()) == calls
    assert await everything(db_rows) == rows


async def test_a_new_api_call_is_unrecorded_and_its_request_shown(
        past_orders, replay, put_draft, returns_doc, api_call, demo_calls):
    await api_call({"id": "notify-crm", "name": "Notify CRM", "method": "POST",
                    "url": "{{ variables.demo_url }}/responses",
                    "body": {"ticket_id": "{{ input.ticket_id }}", "message": "returning"},
                    "mock": {"status": 200, "body": {"id": "crm_1"}}})
    doc = copy.deepcopy(returns_doc)
    doc["nodes"].append({"id": "notify", "type": "api_call", "api_call": "notify-crm",
                         "save": {"crm": "response.body.id"}})
    first = next(edge for edge in doc["edges"] if edge["source"] == "start")
    doc["edges"] += [{"source": "start", "target": "notify"},
                     {"source": "notify", "target": first["target"]}]
    doc["edges"].remove(first)
    await put_draft(doc)
    calls = len(await demo_calls())
    answer = (await replay("returns-approved", {"version": "draft"})).json()
    assert answer["summary"]["unrecorded"] == 5
    for entry in answer["orders"]:
        assert entry["unrecorded"] == ["notify"]
        assert entry["after"]["path"][:3] == ["start", "notify", "generate_response"]
        assert entry["after"]["state"] == "completed"
        assert entry["first_difference"]["node"] == "start"  # it went on to the new step
        assert entry["first_difference"]["after"]["next"] == "notify"
    assert len(await demo_calls()) == calls


async def test_a_published_version_and_a_filter_choose_what_replays(past_orders, replay):
    answer = (await replay("returns-approved", {
        "version": 1, "filter": {"order_id": "ca-"}, "limit": 1})).json()
    assert [entry["order_id"] for entry in answer["orders"]] == ["ca-2"]
    assert answer["version"] == 1 and answer["summary"]["same"] == 1


@pytest.mark.parametrize(("body", "status"), [
    ({"version": 9}, 404), ({"version": "latest"}, 422), ({"version": 10**25}, 422),
    ({"limit": 501}, 422),
    ({"limit": 0}, 422), ({"filter": {"colour": "red"}}, 422)])
async def test_a_bad_replay_request_is_refused_before_any_work(past_orders, live_client, body,
                                                               status):
    response = await live_client.post("/api/blueprints/returns-approved/replay", json=body)
    assert response.status_code == status, response.text
    assert response.json()["type"] in ("not_found", "invalid")


async def test_an_unknown_blueprint_is_404(live_client):
    response = await live_client.post("/api/blueprints/nope/replay", json={})
    assert response.status_code == 404


async def test_a_draft_with_problems_is_refused_with_them(past_orders, live_client, returns_doc,
                                                          put_draft):
    returns_doc["nodes"] = [node for node in returns_doc["nodes"] if node["type"] != "start"]
    await put_draft(returns_doc)
    for response in (
            await live_client.post("/api/blueprints/returns-approved/replay", json={}),
            await live_client.get("/api/blueprints/returns-approved/coverage?version=draft")):
        assert response.status_code == 409, response.text
        assert response.json()["errors"]


async def test_an_app_without_a_queue_replays_in_its_own_process(past_orders, live_app,
                                                                 returns_doc, put_draft):
    """`waybill web` without REDIS_URL has no worker to ask: it replays itself."""
    live_app.state.waybill.redis, redis = None, live_app.state.waybill.redis
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=live_app),
                                     base_url="http://test") as client:
            response = await client.post("/api/blueprints/returns-approved/replay",
                                         json={"version": 1})
    finally:
        live_app.state.waybill.redis = redis
    assert response.status_code == 200, response.text
    assert response.json()["summary"] == {"total": 5, "same": 5, "changed": 0, "unrecorded": 0,
                                          "skipped": 0}
