"""Branch coverage: per step and per edge, how many real and test orders of a version took
it, checked against what 100 mixed orders (conditions both ways, a failed edge, a parallel)
recorded in their step runs."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from tests.orders.builders import demo_call, edge, node

BLUEPRINT = {
    "id": "cov", "name": "Coverage",
    "nodes": [
        node("start", "start"),
        node("check", "condition", expression="input.n % 3 == 0"),
        node("call", "api_call", api_call="cov-maybe"),
        node("rescue", "end", status="failed"),
        node("big", "condition", expression="input.n > 1000"),
        node("never", "end"),
        node("fan", "parallel"),
        node("a", "api_call", api_call="cov-ok"),
        node("b", "api_call", api_call="cov-ok"),
        node("meet", "join"),
        node("done", "end"),
    ],
    "edges": [edge("start", "check"), edge("check", "call", "true"),
              edge("check", "fan", "false"), edge("call", "rescue", "failed"),
              edge("call", "big"), edge("big", "never", "true"), edge("big", "done", "false"),
              edge("fan", "a", "branch"), edge("fan", "b", "branch"), edge("a", "meet"),
              edge("b", "meet"), edge("meet", "done")],
}


def expected_edges(n: int, fail: bool) -> set[tuple[str, str, str]]:
    """The edges an order of input n takes, from the blueprint's logic (not from its runs)."""
    if n % 3 == 0:
        tail = {("call", "rescue", "failed")} if fail else {("call", "big", "next"),
                                                             ("big", "done", "false")}
        return {("start", "check", "next"), ("check", "call", "true")} | tail
    return {("start", "check", "next"), ("check", "fan", "false"), ("fan", "a", "branch"),
            ("fan", "b", "branch"), ("a", "meet", "next"), ("b", "meet", "next"),
            ("meet", "done", "next")}


@pytest.fixture
async def mixed_orders(api_call, published, create_order, run_worker, live_client):
    await api_call(demo_call("cov-ok", "/responses"))
    await api_call(demo_call(
        "cov-maybe", "/responses{{ '?fail=1&fail_status=400' if input.fail else '' }}"))
    await published(BLUEPRINT)
    inputs = {f"cov-{n}": {"n": n, "fail": n % 2 == 0} for n in range(90)}
    for order_id, payload in inputs.items():
        await create_order(order_id, "cov", payload)
    tests = []
    for n in range(90, 100):  # test runs of a draft whose logic is v1's (moved a node)
        draft = BLUEPRINT | {"layout": {"start": {"x": n, "y": 0}}}
        assert (await live_client.put("/api/blueprints/cov", json=draft)).status_code == 200
        response = await live_client.post("/api/blueprints/cov/test-run",
                                          json={"input": {"n": n, "fail": False}})
        tests.append((response.json()["order_id"], {"n": n, "fail": False}))
    await run_worker()
    return inputs, dict(tests)


async def orders_of(client: httpx.AsyncClient, ids) -> list[dict]:
    return [(await client.get(f"/api/orders/{order_id}")).json() for order_id in ids]


async def test_counts_match_the_step_runs_of_100_orders(mixed_orders, live_client):
    inputs, tests = mixed_orders
    response = await live_client.get("/api/blueprints/cov/coverage", params={"version": 1})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["orders"] == {"real": 90, "test": 10}

    nodes: dict[str, Counter] = {"real": Counter(), "test": Counter()}
    edges: dict[str, Counter] = {"real": Counter(), "test": Counter()}
    for kind, group in (("real", inputs), ("test", tests)):
        for order in await orders_of(live_client, group):
            assert order["state"] in ("completed", "failed")
            nodes[kind].update({step["node"] for step in order["steps"]})
            edges[kind].update(expected_edges(**group[order["order_id"]]))
    for node_id, counts in answer["nodes"].items():
        assert counts == {"real": nodes["real"][node_id], "test": nodes["test"][node_id]}, node_id
    for item in answer["edges"]:
        key = (item["source"], item["target"], item["kind"])
        assert (item["real"], item["test"]) == (edges["real"][key], edges["test"][key]), key
    assert answer["nodes"]["check"] == {"real": 90, "test": 10}
    assert answer["nodes"]["never"] == {"real": 0, "test": 0}
    assert [(e["source"], e["target"], e["kind"]) for e in answer["never_taken"]] == [
        ("big", "never", "true")]


async def test_the_draft_counts_its_own_test_runs(mixed_orders, live_client):
    response = await live_client.get("/api/blueprints/cov/coverage", params={"version": "draft"})
    answer = response.json()
    assert answer["version"] == "draft"
    assert answer["orders"] == {"real": 0, "test": 10}  # every draft tried had v1's logic


@pytest.mark.parametrize(("query", "status"), [
    ({"version": "2"}, 404), ({"version": "latest"}, 422), ({"version": "0"}, 422)])
async def test_a_bad_version_is_a_clear_error(mixed_orders, live_client, query, status):
    response = await live_client.get("/api/blueprints/cov/coverage", params=query)
    assert response.status_code == status
    assert (await live_client.get("/api/blueprints/nope/coverage")).status_code == 404
