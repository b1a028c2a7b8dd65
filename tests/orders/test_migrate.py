"""In-flight impact and migration: orders sleeping on v1 shown before a publish, then moved to
v2 at the mapped step, where they wake and complete; an order without a var v2 reads from
there is refused (in the dry run too) and left exactly as it was."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from tests.orders.builders import demo_call, edge, node

Json = dict[str, Any]
V1 = {
    "id": "mig", "name": "Migrate",
    "nodes": [
        node("start", "start"),
        node("lookup", "condition", expression="input.known"),
        node("fetch", "api_call", api_call="mig-intent", save={"intent": "response.body.intent"}),
        node("nap", "sleep", duration="1h"),
        node("done", "end", result="input.n"),
    ],
    "edges": [edge("start", "lookup"), edge("lookup", "fetch", "true"),
              edge("lookup", "nap", "false"), edge("fetch", "nap"), edge("nap", "done")],
}


def v2_of(v1: Json) -> Json:
    """v2: the sleep is now `rest`, after it a step reads `intent`, which the path that does
    not fetch it now saves as well (so v2 is valid, and v1's orders of that path lack it)."""
    doc = copy.deepcopy(v1)
    doc["nodes"] = [node("rest", "sleep", duration="2h") if item["id"] == "nap" else item
                    for item in doc["nodes"]]
    doc["nodes"] += [node("check", "condition", expression="vars.intent != ''"),
                     node("guess", "function", function="get", args={"obj": "input", "path": "'n'"},
                          save={"intent": "'unknown'"})]
    doc["edges"] = [item for item in doc["edges"] if "nap" not in (item["source"], item["target"])]
    doc["edges"] += [edge("lookup", "guess", "false"), edge("guess", "rest"),
                     edge("fetch", "rest"), edge("rest", "check"),
                     edge("check", "done", "true"), edge("check", "done", "false")]
    doc["nodes"] = [item for item in doc["nodes"] if item["id"] != "done"] + [
        node("done", "end", result="{'n': input.n, 'v': 2}")]
    return doc


@pytest.fixture
async def sleepers(api_call, published, create_order, run_worker, live_client) -> None:
    """20 orders sleeping at `nap` of v1 having saved `intent`, one (`mig-lost`) without it."""
    await api_call(demo_call("mig-intent", "/responses"))
    assert await published(V1) == 1
    for n in range(20):
        await create_order(f"mig-{n:02}", "mig", {"known": True, "n": n})
    await create_order("mig-lost", "mig", {"known": False, "n": 99})
    await run_worker()
    response = await live_client.put("/api/blueprints/mig", json=v2_of(V1))
    assert response.status_code == 200, response.text


async def test_in_flight_groups_by_version_and_step(sleepers, live_client):
    answer = (await live_client.get("/api/blueprints/mig/in-flight")).json()
    assert answer == {"blueprint": "mig", "total": 21, "groups": [
        {"version": 1, "node": "nap", "type": "sleep", "state": "sleeping", "count": 21,
         "in_draft": "missing"}]}
    draft = (await live_client.get("/api/blueprints/mig")).json()["draft"]
    draft["nodes"].append(node("nap", "sleep", duration="1h"))  # same settings, no edges out
    await live_client.put("/api/blueprints/mig", json=draft)
    groups = (await live_client.get("/api/blueprints/mig/in-flight")).json()["groups"]
    assert groups[0]["in_draft"] == "changed"
    assert (await live_client.get("/api/blueprints/nope/in-flight")).status_code == 404


async def test_sleepers_move_to_v2_and_complete_there(sleepers, live_client, run_worker,
                                                      wake, get_order, db_rows):
    assert (await live_client.post("/api/blueprints/mig/publish")).status_code == 201
    body = {"from_version": 1, "to_version": 2, "node_map": {"nap": "rest"}}
    before = await db_rows("SELECT * FROM orders ORDER BY id")
    dry = (await live_client.post("/api/blueprints/mig/migrate",
                                  json=body | {"dry_run": True})).json()
    assert dry["summary"] == {"moved": 20, "refused": 1}
    assert dry["refused"] == [{
        "order_id": "mig-lost", "node": "nap", "code": "missing_vars", "missing": ["intent"],
        "reason": "Version 2 reads vars.intent from step 'rest' on, which this order has not "
                  "saved."}]
    assert await db_rows("SELECT * FROM orders ORDER BY id") == before  # a dry run changes nothing
    assert await db_rows("SELECT * FROM order_audit") == []

    answer = (await live_client.post("/api/blueprints/mig/migrate", json=body)).json()
    assert answer["summary"] == {"moved": 20, "refused": 1}
    assert {item["to_node"] for item in answer["moved"]} == {"rest"}
    lost = await get_order("mig-lost")
    assert (lost["version"], lost["current_node"], lost["state"], lost["audit"]) == (
        1, "nap", "sleeping", [])

    for n in range(20):
        await wake(f"mig-{n:02}")
    await run_worker()
    for n in range(20):
        order = await get_order(f"mig-{n:02}")
        assert (order["state"], order["version"], order["result"]) == (
            "completed", 2, {"n": n, "v": 2})
        assert [step["node"] for step in order["steps"]][-3:] == ["rest", "check", "done"]
        [entry] = order["audit"]
        assert entry["kind"] == "migrated"
        assert entry["detail"] == {"from_version": 1, "to_version": 2, "from_node": "nap",
                                   "to_node": "rest", "state": "sleeping"}
    coverage = (await live_client.get("/api/blueprints/mig/coverage?version=2")).json()
    assert coverage["nodes"]["rest"] == {"real": 20, "test": 0}  # their runs on v1's steps aside
    page = (await live_client.get("/orders/mig-00")).text
    assert 'data-audit="migrated"' in page and "Moved to version 2" in page
    # the one left alone still finishes on v1
    await wake("mig-lost")
    await run_worker()
    lost = await get_order("mig-lost")
    assert (lost["state"], lost["version"], lost["result"]) == ("completed", 1, 99)


async def test_what_cannot_move_is_refused_with_its_reason(sleepers, live_client, run_worker):
    assert (await live_client.post("/api/blueprints/mig/publish")).status_code == 201
    refused = (await live_client.post("/api/blueprints/mig/migrate", json={
        "from_version": 1, "to_version": 2, "order_ids": ["mig-00"]})).json()["refused"]
    assert [(item["code"], item["node"]) for item in refused] == [("no_step", "nap")]
    only = (await live_client.post("/api/blueprints/mig/migrate", json={
        "from_version": 1, "to_version": 2, "node_map": {"nap": "rest"}, "steps": ["lookup"],
        "dry_run": True})).json()
    assert only["summary"] == {"moved": 0, "refused": 0}  # nobody rests at `lookup`
    other = (await live_client.post("/api/blueprints/mig/migrate", json={
        "from_version": 1, "to_version": 2, "node_map": {"nap": "check"},
        "order_ids": ["mig-00"]})).json()["refused"]
    assert [item["code"] for item in other] == ["other_type"]


@pytest.mark.parametrize(("body", "status"), [
    ({"from_version": 1, "to_version": 1}, 422),
    ({"from_version": 1, "to_version": 9}, 404),
    ({"from_version": 1, "to_version": 2, "node_map": {"ghost": "rest"}}, 422),
    ({"from_version": 1, "to_version": 2, "node_map": {"nap": "ghost"}}, 422),
    ({"from_version": 0, "to_version": 2}, 422),
    ({"from_version": 10**25, "to_version": 2}, 422),  # not an INTEGER column's (the fuzz's)
    ({"from_version": 1, "to_version": 2, "extra": True}, 422),
])
async def test_a_bad_request_is_a_clear_error(sleepers, live_client, body, status, db_rows):
    assert (await live_client.post("/api/blueprints/mig/publish")).status_code == 201
    response = await live_client.post("/api/blueprints/mig/migrate", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert await db_rows("SELECT * FROM order_audit") == []


async def test_a_migration_racing_a_worker_moves_each_order_once_or_not_at_all(
        sleepers, live_client, run_worker, wake, get_order):
    """Orders woken while they are moved: each either moves (and finishes on v2) or is left
    (`busy`, or already past the sleep) and finishes on v1; none runs a step twice."""
    assert (await live_client.post("/api/blueprints/mig/publish")).status_code == 201
    ids = [f"mig-{n:02}" for n in range(20)]
    for order_id in ids:
        await wake(order_id)
    working = asyncio.create_task(run_worker())
    while (await get_order(ids[0]))["state"] == "sleeping":  # the worker is under way
        await asyncio.sleep(0.005)
    migrated = await live_client.post("/api/blueprints/mig/migrate", json={
        "from_version": 1, "to_version": 2, "node_map": {"nap": "rest"}, "order_ids": ids})
    await working
    await run_worker()
    moved = {item["order_id"] for item in migrated.json()["moved"]}
    refused = {item["order_id"]: item["code"] for item in migrated.json()["refused"]}
    assert moved | set(refused) <= set(ids) and not moved & set(refused)
    for order_id in ids:
        order = await get_order(order_id)
        assert order["state"] == "completed", (order_id, order["state"], order.get("error"))
        assert order["version"] == (2 if order_id in moved else 1)
        visits = [(step["node"], step["attempt"]) for step in order["steps"]
                  if step["status"] != "sleeping"]
        assert len(visits) == len(set(visits)), visits
