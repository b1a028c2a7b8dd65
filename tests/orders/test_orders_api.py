"""Creating orders (duplicates refused, nothing changed), cancelling them, and versions."""

import asyncio

import pytest
from sqlmodel import select

from backend.blueprints.models import BlueprintVersion
from backend.core.queue import QUEUE
from backend.orders.dispatch import sweep
from backend.orders.models import Order
from tests.orders.builders import demo_call, edge, linear, node, step_runs

RETURN = {"ticket_id": "T-1", "country": "US", "order_id": "ORD-1"}


@pytest.mark.usefixtures("examples")
async def test_a_duplicate_order_id_is_refused_and_changes_nothing(
        live_client, live_app, create_order, get_order, run_worker, demo_calls):
    await create_order("dup-1", "returns-approved", RETURN)
    again = await live_client.post("/api/orders", json={
        "order_id": "dup-1", "blueprint": "returns-approved", "input": RETURN | {"country": "CA"}})
    assert again.status_code == 409
    assert again.json()["type"] == "conflict"
    assert await live_app.state.waybill.redis.zcard(QUEUE) == 1  # one activation, not two
    await run_worker()
    before = await get_order("dup-1")
    calls = await demo_calls()

    for blueprint, payload in (("returns-approved", RETURN | {"ticket_id": "T-2"}),
                               ("order-state-manager", {"order_id": "x"})):
        again = await live_client.post("/api/orders", json={
            "order_id": "dup-1", "blueprint": blueprint, "input": payload})
        assert again.status_code == 409, again.text
    await run_worker()
    assert await get_order("dup-1") == before
    assert before["input"] == RETURN and "us_label" in [s["node"] for s in before["steps"]]
    assert await demo_calls() == calls
    listed = (await live_client.get("/api/orders")).json()["data"]
    assert [order["order_id"] for order in listed] == ["dup-1"]


@pytest.mark.usefixtures("examples")
async def test_bad_orders_are_refused_without_a_trace(live_client, published):
    await live_client.post("/api/blueprints", json=linear("draft-only"))
    cases = [({"order_id": "b-1", "blueprint": "returns-approved", "input": {"country": "US"}},
              422, "invalid"),
             ({"order_id": "b-2", "blueprint": "no-such-blueprint"}, 404, "not_found"),
             ({"order_id": "b-3", "blueprint": "draft-only"}, 409, "conflict"),
             ({"order_id": "has space", "blueprint": "returns-approved"}, 422, "invalid")]
    for body, status, kind in cases:
        response = await live_client.post("/api/orders", json=body)
        assert (response.status_code, response.json()["type"]) == (status, kind), body
    assert (await live_client.get("/api/orders")).json()["data"] == []
    assert (await live_client.get("/api/orders/b-1")).status_code == 404


@pytest.mark.usefixtures("examples")
async def test_a_cancelled_sleeping_order_does_not_continue(
        live_client, live_app, live_settings, create_order, get_order, run_worker, demo_calls):
    await create_order("c-1", "returns-approved", RETURN)
    await run_worker()
    before = await get_order("c-1")
    assert before["state"] == "sleeping"

    response = await live_client.post("/api/orders/c-1/cancel")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["wake_at"]) == ("cancelled", None)
    assert (await live_client.post("/api/orders/c-1/wake")).status_code == 409
    state = live_app.state.waybill
    assert await sweep(state.sessions, state.redis, live_settings) == 0
    await run_worker()
    order = await get_order("c-1")
    assert order["state"] == "cancelled"
    assert order["steps"] == before["steps"]
    assert len(await demo_calls()) == 4
    again = await live_client.post("/api/orders/c-1/cancel")
    assert (again.status_code, again.json()["type"]) == (409, "conflict")


async def test_cancel_stops_before_the_next_step(live_client, api_call, published,
                                                 create_order, get_order, run_worker,
                                                 demo_calls):
    # slow enough that a loaded machine still cancels while the call is under way
    await api_call(demo_call("slow", "/responses?delay_ms=2000"))
    await api_call(demo_call("fast", "/responses"))
    await published(linear("stop-bp", node("slow", "api_call", api_call="slow"),
                           node("after", "api_call", api_call="fast")))
    await create_order("c-2", "stop-bp", {})
    worker = asyncio.create_task(run_worker())
    for _ in range(1000):
        if await demo_calls():
            break
        await asyncio.sleep(0.01)
    response = await live_client.post("/api/orders/c-2/cancel")
    assert (response.status_code, response.json()["state"]) == (200, "cancelled")
    await worker

    order = await get_order("c-2")
    assert order["state"] == "cancelled"
    assert step_runs(order) == [("start", 1, "completed"), ("slow", 1, "completed")]
    assert [call["idempotency_key"] for call in await demo_calls()] == ["c-2:slow"]


async def test_cancel_of_a_completed_order_is_refused(live_client, published, create_order,
                                                      get_order, run_worker):
    await published(linear("quick-bp", result="'done'"))
    await create_order("c-3", "quick-bp", {})
    await run_worker()
    before = await get_order("c-3")
    assert (before["state"], before["result"]) == ("completed", "done")
    response = await live_client.post("/api/orders/c-3/cancel")
    assert (response.status_code, response.json()["type"]) == (409, "conflict")
    assert await get_order("c-3") == before
    assert (await live_client.post("/api/orders/nope/cancel")).status_code == 404


async def test_an_order_stays_on_the_version_it_started_with(live_client, published,
                                                             create_order, get_order,
                                                             run_worker, wake):
    nap = node("nap", "sleep", duration="1h")
    assert await published(linear("ver-bp", nap, result="'first'")) == 1
    await create_order("v-1", "ver-bp", {})
    await run_worker()
    changed = linear("ver-bp", nap, result="'second'")
    assert (await live_client.put("/api/blueprints/ver-bp", json=changed)).status_code == 200
    assert (await live_client.post("/api/blueprints/ver-bp/publish")).json()["version"] == 2
    await create_order("v-2", "ver-bp", {})
    await run_worker()
    for order_id in ("v-1", "v-2"):
        await wake(order_id)
    await run_worker()
    first, second = await get_order("v-1"), await get_order("v-2")
    assert (first["version"], first["result"]) == (1, "first")
    assert (second["version"], second["result"]) == (2, "second")


async def test_orders_are_listed_by_filter(live_client, published, create_order, run_worker):
    await published(linear("list-bp", node("nap", "sleep", duration="1h")))
    await published(linear("other-bp", result="'x'"))
    for n in range(3):
        await create_order(f"l-{n}", "list-bp", {})
    await create_order("l-other", "other-bp", {})
    await run_worker()

    async def listed(**params):
        response = await live_client.get("/api/orders", params=params)
        assert response.status_code == 200, response.text
        return [order["order_id"] for order in response.json()["data"]]

    assert await listed() == ["l-other", "l-2", "l-1", "l-0"]
    assert await listed(state="sleeping") == ["l-2", "l-1", "l-0"]
    assert await listed(blueprint="other-bp", state="completed") == ["l-other"]
    assert await listed(state="failed") == []


async def test_orders_are_listed_page_by_page(live_client, published, create_order):
    await published(linear("page-bp", node("nap", "sleep", duration="1h")))
    for n in range(5):
        await create_order(f"pg-{n}", "page-bp", {})
    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await live_client.get("/api/orders", params=params)
        assert response.status_code == 200, response.text
        pages.append([order["order_id"] for order in response.json()["data"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [["pg-4", "pg-3"], ["pg-2", "pg-1"], ["pg-0"]]


@pytest.mark.usefixtures("examples")
async def test_a_test_run_fast_forwards_sleeps_and_mocks_calls(live_client, get_order,
                                                               run_worker, demo_calls):
    payload = {"ticket_id": "228476", "country": "US", "order_id": "1001", "condition": "A",
               "match": True}
    response = await live_client.post("/api/blueprints/returns-approved/test-run",
                                      json={"input": payload, "mock": True})
    assert response.status_code == 201, response.text
    test_order = response.json()
    assert (test_order["test"], test_order["version"]) == (True, None)
    await run_worker()
    order = await get_order(test_order["order_id"])
    assert order["state"] == "completed", order["error"]
    assert order["result"] == "return_and_refund_processed"
    sleep = next(step for step in order["steps"] if step["node"] == "wait_for_item")
    assert (sleep["status"], sleep["response"]["fast_forwarded"]) == ("completed", True)
    assert order["vars"]["tracking_number"] == "9400111899223344556677"  # from the mock
    assert all(step["request"]["mocked"] for step in order["steps"] if step["request"]
               and "method" in step["request"])
    assert await demo_calls() == []


async def test_two_activations_at_once_run_the_order_once(api_call, published, create_order,
                                                          get_order, runner, db_rows,
                                                          demo_calls):
    await api_call(demo_call("slow", "/responses?delay_ms=300"))
    await published(linear("once-bp", node("call", "api_call", api_call="slow")))
    await create_order("twice", "once-bp", {})
    pk = (await db_rows("SELECT id FROM orders WHERE order_id = 'twice'"))[0]["id"]
    await asyncio.gather(runner.activate(pk), runner.activate(pk), runner.activate(pk))
    order = await get_order("twice")
    assert order["state"] == "completed"
    assert step_runs(order) == [("start", 1, "completed"), ("call", 1, "completed"),
                                ("end", 1, "completed")]
    assert len(await demo_calls()) == 1


async def test_cancel_by_filter_is_previewed_then_applied(live_client, published, create_order,
                                                         run_worker, get_order):
    await published(linear("cancel-bp", node("nap", "sleep", duration="1d")))
    for order_id in ("c-1", "c-2"):
        await create_order(order_id, "cancel-bp", {})
    await run_worker()
    body = {"filter": {"blueprint": "cancel-bp"}, "dry_run": True}
    preview = (await live_client.post("/api/orders/cancel", json=body)).json()
    assert preview == {"dry_run": True, "count": 2, "order_ids": ["c-1", "c-2"]}
    assert (await get_order("c-1"))["state"] == "sleeping"
    done = (await live_client.post("/api/orders/cancel", json={**body, "dry_run": False})).json()
    assert (done["count"], done["dry_run"]) == (2, False)
    assert {(await get_order(i))["state"] for i in ("c-1", "c-2")} == {"cancelled"}
    again = await live_client.post("/api/orders/cancel", json={"order_ids": ["c-1"]})
    assert again.json()["count"] == 0  # finished orders are not cancelled twice
    both = await live_client.post("/api/orders/cancel", json={"order_ids": [], "filter": {}})
    assert both.status_code == 422


async def test_a_change_to_what_steps_use_is_seen_by_the_next_activation(
        live_client, runner, api_call, published, create_order, get_order, demo_calls):
    """The worker keeps API calls and variables between activations, yet an API call created
    or changed, or a variable set, just before an order runs is what it runs with."""
    await live_client.put("/api/variables/warm_path", json={"value": "/responses?v=1"})
    await api_call(demo_call("warm-a", "{{ variables.warm_path }}"))
    await published(linear("warm-bp", node("a", "api_call", api_call="warm-a")))
    first = await create_order("w-1", "warm-bp", {})
    await runner.activate(await order_pk(runner, first["order_id"]))  # caches the API calls
    await api_call(demo_call("warm-b", "/responses"))  # created just now
    await published(linear("new-bp", node("b", "api_call", api_call="warm-b")))
    second = await create_order("w-2", "new-bp", {})
    await runner.activate(await order_pk(runner, second["order_id"]))
    assert (await get_order("w-2"))["state"] == "completed"

    await live_client.put("/api/variables/warm_path", json={"value": "/responses?v=2"})
    third = await create_order("w-3", "warm-bp", {})
    await runner.activate(await order_pk(runner, third["order_id"]))
    assert [call["query"] for call in await demo_calls()][-1] == {"v": "2"}

    changed = demo_call("warm-a", "/responses?v=3")
    assert (await live_client.put("/api/api-calls/warm-a", json=changed)).status_code == 200
    fourth = await create_order("w-4", "warm-bp", {})
    await runner.activate(await order_pk(runner, fourth["order_id"]))
    assert [call["query"] for call in await demo_calls()][-1] == {"v": "3"}


async def test_instant_steps_share_a_commit_yet_the_order_is_never_shown_a_step_behind(
        runner, api_call, published, create_order, get_order):
    """start → slow call → condition → function → end: the condition and the function are
    committed with the end (one commit for three steps), while the start, which a slow step
    follows, commits before it; during the call the order is at the call, running."""
    await api_call(demo_call("slow-one", "/responses?delay_ms=400"))
    doc = {"id": "instant-bp", "name": "instant", "nodes": [
        node("start", "start"), node("call", "api_call", api_call="slow-one"),
        node("check", "condition", expression="true"),
        node("note", "function", function="get", args={"obj": "input", "path": "'k'"},
             save={"k": "result"}),
        node("end", "end", result="input.k")],
        "edges": [edge("start", "call"), edge("call", "check"), edge("check", "note", "true"),
                  edge("check", "end", "false"), edge("note", "end")]}
    await published(doc)
    created = await create_order("instant-1", "instant-bp", {"k": "v"})
    writes = []
    write = runner.writer.write

    async def counted(work):
        writes.append(work)
        return await write(work)

    runner.writer.write = counted
    activation = asyncio.create_task(runner.activate(await order_pk(runner, created["order_id"])))
    await asyncio.sleep(0.2)  # the call is in flight
    during = await get_order("instant-1")
    assert (during["state"], during["current_node"]) == ("running", "call")
    assert step_runs(during) == [("start", 1, "completed")]
    await activation
    order = await get_order("instant-1")
    assert (order["state"], order["result"], order["vars"]) == ("completed", "v", {"k": "v"})
    assert step_runs(order) == [(name, 1, "completed")
                                for name in ("start", "call", "check", "note", "end")]
    assert len(writes) == 4  # the lease, start, call, and check + note + end together


async def order_pk(runner, order_id):
    async with runner.sessions() as session:
        return (await session.exec(select(Order.id).where(Order.order_id == order_id))).one()


FORMATS_SCHEMA = {"type": "object", "required": ["email"], "properties": {
    "email": {"type": "string", "format": "email"},
    "ship_by": {"type": "string", "format": "date-time"},
    "callback": {"type": "string", "format": "uri"}}}
GOOD_FORMATS = {"email": "ann@example.com", "ship_by": "2025-03-01T09:30:00Z",
                "callback": "https://shop.example/hooks/1"}


async def test_input_formats_are_enforced_on_create(live_client, published):
    """`format` in the input schema (email, date-time, uri) is checked, not just annotated:
    a bad value is refused with the path of its field, a good order is created."""
    await published(linear("formats", input_schema=FORMATS_SCHEMA))
    cases = [("email", "not-an-email"), ("ship_by", "next tuesday"),
             ("ship_by", "2025-13-01T09:30:00Z"), ("callback", "no scheme here")]
    for n, (field, bad) in enumerate(cases):
        response = await live_client.post("/api/orders", json={
            "order_id": f"fmt-bad-{n}", "blueprint": "formats", "input": GOOD_FORMATS | {field: bad}})
        assert response.status_code == 422, (field, bad, response.text)
        body = response.json()
        assert body["type"] == "invalid"
        assert [(e["path"], e["code"]) for e in body["errors"]] == [(f"/{field}", "input_schema")]
        assert bad in body["errors"][0]["message"]
    response = await live_client.post("/api/orders", json={
        "order_id": "fmt-good", "blueprint": "formats", "input": GOOD_FORMATS})
    assert response.status_code == 201, response.text
    listed = (await live_client.get("/api/orders", params={"blueprint": "formats"})).json()
    assert [order["order_id"] for order in listed["data"]] == ["fmt-good"]


async def test_a_version_with_a_broken_input_schema_refuses_orders(live_client, live_app, published):
    """A version stored before the API refused schemas that are not JSON Schemas answers a
    409 naming the problem, not a 500 from inside jsonschema."""
    await published(linear("old-schema", input_schema={"type": "object"}))
    async with live_app.state.waybill.sessions() as session:
        version = await session.get(BlueprintVersion, ("old-schema", 1))
        version.definition = version.definition | {"input_schema": {"type": "nope"}}
        await session.commit()
    response = await live_client.post("/api/orders", json={
        "order_id": "old-1", "blueprint": "old-schema", "input": {}})
    assert response.status_code == 409, response.text
    assert "not a valid JSON Schema" in response.json()["detail"]
    assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [("/type", "input_schema")]
    assert (await live_client.get("/api/orders/old-1")).status_code == 404


async def test_a_blueprint_created_again_takes_orders_on_its_new_version(live_client, published):
    """Deleted (it had no orders) and created again under its id: version 1 again, another
    definition, and intake must not serve the old one from a cache."""
    await published(linear("again", input_schema={"type": "object", "required": ["a"]}))
    refused = await live_client.post("/api/orders", json={"order_id": "x-1", "blueprint": "again",
                                                          "input": {}})
    assert refused.status_code == 422
    assert (await live_client.delete("/api/blueprints/again")).status_code == 204
    await published(linear("again", input_schema={"type": "object", "required": ["b"]}))
    created = await live_client.post("/api/orders", json={"order_id": "x-2", "blueprint": "again",
                                                          "input": {"b": 1}})
    assert created.status_code == 201, created.text
