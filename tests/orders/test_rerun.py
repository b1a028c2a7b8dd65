"""Fix and rerun: a failed order's input replaced and the order run again from its failed
step (or the start) through `POST /api/orders/{id}/reprocess`; the change (who, when, old
and new input) is on the order's timeline; a bad input changes nothing."""

from __future__ import annotations

from tests.orders.builders import demo_call, linear, node

SCHEMA = {"type": "object", "required": ["fail"], "properties": {
    "fail": {"type": "string"}, "note": {"type": "string"}}}


async def failed_order(live_client, api_call, published, create_order, get_order, run_worker):
    # the demo API refuses the call (400) while the input asks it to fail
    await api_call(demo_call("reply", "/responses?fail={{ input.fail }}&fail_status=400"))
    await published(linear("fixable", node("prep", "function", function="length",
                                           args={"items": "'abc'"}, save={"prep": "result"}),
                           node("reply", "api_call", api_call="reply"),
                           result="input.fail", input_schema=SCHEMA))
    await create_order("o-fix", "fixable", {"fail": "always", "note": "n"})
    await run_worker()
    order = await get_order("o-fix")
    assert (order["state"], order["failed_node"]) == ("failed", "reply"), order
    return order


async def test_a_failed_order_reruns_from_its_failed_step_with_a_new_input(
        live_client, api_call, published, create_order, get_order, run_worker):
    before = await failed_order(live_client, api_call, published, create_order, get_order,
                                run_worker)
    response = await live_client.post("/api/orders/o-fix/reprocess", json={
        "from": "failed", "input": {"fail": "0", "note": "n"}, "by": "kim"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["state"], answer["current_node"]) == ("pending", "reply")
    assert answer["input"] == {"fail": "0", "note": "n"}
    [entry] = answer["audit"]
    assert entry["actor"] == "kim" and entry["kind"] == "reprocessed"
    assert entry["detail"]["from"] == "failed" and entry["detail"]["node"] == "reply"
    assert entry["detail"]["input"] == {"old": {"fail": "always", "note": "n"},
                                        "new": {"fail": "0", "note": "n"}}

    await run_worker()
    order = await get_order("o-fix")
    assert order["state"] == "completed", order["error"]
    assert order["result"] == "0"
    assert order["vars"] == before["vars"]  # kept: `prep` did not run again
    assert [step["node"] for step in order["steps"]].count("prep") == 1


async def test_a_rerun_from_the_start_runs_every_step_again(
        live_client, api_call, published, create_order, get_order, run_worker):
    await failed_order(live_client, api_call, published, create_order, get_order, run_worker)
    response = await live_client.post("/api/orders/o-fix/reprocess", json={
        "from": "start", "input": {"fail": "0"}})
    assert response.status_code == 200, response.text
    assert response.json()["audit"][0]["actor"] == "API"
    await run_worker()
    order = await get_order("o-fix")
    assert order["state"] == "completed", order["error"]
    assert [step["node"] for step in order["steps"]].count("prep") == 2


async def test_a_bad_input_or_an_active_order_changes_nothing(
        live_client, api_call, published, create_order, get_order, run_worker):
    before = await failed_order(live_client, api_call, published, create_order, get_order,
                                run_worker)
    response = await live_client.post("/api/orders/o-fix/reprocess", json={"input": {"fail": 1}})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "input_schema"
    for body in ({"input": []}, {"from": "middle"}, {"input": {}, "extra": 1}):
        assert (await live_client.post("/api/orders/o-fix/reprocess", json=body)).status_code == 422
    after = await get_order("o-fix")
    assert (after["state"], after["input"], after["audit"]) == ("failed", before["input"], [])

    assert (await live_client.post("/api/orders/o-fix/reprocess", json={})).status_code == 200
    response = await live_client.post("/api/orders/o-fix/reprocess", json={})
    assert response.status_code == 409, response.text
    assert (await live_client.post("/api/orders/nope/reprocess", json={})).status_code == 404
