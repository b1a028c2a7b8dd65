"""for_each and sub_blueprint on real arq workers, Redis and the database: child orders
started as capacity frees up (concurrency measured at the mock API), results in item order,
failures beyond the tolerated ones taking the `failed` edge, reprocess re-running only the
failed children, cancel reaching the children."""

from collections.abc import AsyncIterator

import pytest

from tests.conftest import served
from tests.orders.builders import edge, node, step_runs
from tests.orders.gauge import Gauge

GAUGE = Gauge()


@pytest.fixture(scope="session")
async def gauge_server() -> AsyncIterator[str]:
    async with served(GAUGE.app()) as url:
        yield url


@pytest.fixture
def gauge(gauge_server: str) -> Gauge:
    GAUGE.reset()
    return GAUGE


@pytest.fixture
def allow_gauge(live_settings, gauge_server):
    """Worker settings that let outbound calls reach the gauge too."""
    port = gauge_server.rsplit(":", 1)[1]
    return {"outbound_allow": [*live_settings.outbound_allow, f"127.0.0.1:{port}"]}


def work_call(gauge_url: str, ms: int = 30) -> dict:
    return {"id": "work", "name": "work", "method": "POST", "url": f"{gauge_url}/work?ms={ms}",
            "body": {"key": "{{ args.key }}"}, "success_status": [200],
            "retry": {"max_attempts": 1}}


LINE = {
    "id": "line", "name": "One line", "input_schema": {
        "type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}},
    "nodes": [node("start", "start"),
              node("label", "api_call", api_call="work", args={"key": "input.sku"},
                   save={"label": "response.body.label"}),
              node("end", "end", result="vars.label")],
    "edges": [edge("start", "label"), edge("label", "end")],
}


def parent_doc(blueprint_id: str = "multi", **each: object) -> dict:
    fields = {"items": "input.lines", "blueprint": "line", "input": {"sku": "item.sku"},
              "concurrency": 5, "save": {"labels": "results", "errors": "errors"}} | each
    return {
        "id": blueprint_id, "name": blueprint_id,
        "nodes": [node("start", "start"), node("each", "for_each", **fields),
                  node("done", "end", result="vars.labels"),
                  node("gave_up", "end", status="failed", result="error.failed | length")],
        "edges": [edge("start", "each"), edge("each", "done"),
                  edge("each", "gave_up", "failed")],
    }


def lines(count: int) -> dict:
    return {"lines": [{"sku": f"sku-{index:03d}"} for index in range(count)]}


@pytest.fixture
async def fan_out(api_call, published, gauge_server) -> None:
    await api_call(work_call(gauge_server, ms=150))  # long enough for five to overlap
    await published(LINE)
    await published(parent_doc())


async def test_fifty_items_never_more_than_five_at_once_and_results_in_item_order(
        fan_out, gauge, allow_gauge, create_order, get_order, run_worker, live_client):
    await create_order("o-50", "multi", lines(50))
    await run_worker(**allow_gauge)

    order = await get_order("o-50")
    assert order["state"] == "completed", order["error"]
    assert order["result"] == [f"label-sku-{index:03d}" for index in range(50)]
    assert gauge.peak <= 5
    assert gauge.peak == 5  # the capacity was used, not just respected
    assert sorted(gauge.called()) == [f"sku-{index:03d}" for index in range(50)]  # each once
    assert {call.idempotency_key for call in gauge.calls} == {
        f"o-50.each.{index}:label" for index in range(50)}
    # the parent's timeline: one line for the wait, one for the end of it (not one per poll)
    assert step_runs(order) == [("start", 1, "completed"), ("each", 1, "waiting"),
                                ("each", 1, "completed"), ("done", 1, "completed")]
    children = (await live_client.get("/api/orders", params={"parent": "o-50",
                                                             "limit": 200})).json()["data"]
    assert len(children) == 50
    assert {child["state"] for child in children} == {"completed"}
    assert {child["parent"] for child in children} == {"o-50"}
    child = await get_order("o-50.each.7")
    assert (child["parent"], child["parent_node"], child["child_index"]) == ("o-50", "each", 7)
    assert child["input"] == {"sku": "sku-007"}


async def test_a_failing_item_takes_the_failed_edge_and_reprocess_reruns_only_it(
        fan_out, gauge, allow_gauge, create_order, get_order, run_worker, live_client):
    gauge.failing.add("sku-007")
    await create_order("o-bad", "multi", lines(12))
    await run_worker(**allow_gauge)

    order = await get_order("o-bad")
    assert order["state"] == "failed"
    assert order["current_node"] == "gave_up"
    assert order["result"] == 1
    failed = order["error"]["failed"]
    assert [(item["index"], item["order_id"]) for item in failed] == [(7, "o-bad.each.7")]
    assert failed[0]["error"]["code"] == "http_status"
    assert order["error"]["code"] == "children_failed"
    assert (await get_order("o-bad.each.7"))["state"] == "failed"

    gauge.calls.clear()
    gauge.failing.clear()
    response = await live_client.post("/api/orders/reprocess",
                                      json={"order_ids": ["o-bad"], "from": "failed"})
    assert response.status_code == 200, response.text
    await run_worker(**allow_gauge)

    order = await get_order("o-bad")
    assert order["state"] == "completed", order["error"]
    assert order["result"][7] == "label-sku-007"
    assert len(order["result"]) == 12 and None not in order["result"]
    assert [(call.key, call.idempotency_key) for call in gauge.calls] == [
        ("sku-007", "o-bad.each.7:label")]  # only that child ran again, with its own key


async def test_tolerated_failures_as_a_share_keep_the_next_path(
        api_call, published, gauge, gauge_server, allow_gauge, create_order, get_order,
        run_worker):
    await api_call(work_call(gauge_server))
    await published(LINE)
    await published(parent_doc("tolerant", tolerated_failures="20%"))
    gauge.failing.update({"sku-001", "sku-004"})
    await create_order("o-tol", "tolerant", lines(10))
    await run_worker(**allow_gauge)

    order = await get_order("o-tol")
    assert order["state"] == "completed", order["error"]
    assert order["result"][1] is None and order["result"][4] is None
    assert [error["index"] for error in order["vars"]["errors"]] == [1, 4]


async def test_a_child_input_the_schema_refuses_is_a_failed_child(
        fan_out, gauge, allow_gauge, create_order, get_order, run_worker):
    await create_order("o-schema", "multi", {"lines": [{"sku": "a"}, {"sku": 3}]})
    await run_worker(**allow_gauge)

    order = await get_order("o-schema")
    assert order["state"] == "failed"
    assert [item["index"] for item in order["error"]["failed"]] == [1]
    child = await get_order("o-schema.each.1")
    assert (child["state"], child["error"]["code"]) == ("failed", "input_schema")
    assert gauge.called() == ["a"]


async def test_sub_blueprint_saves_its_childs_result(
        api_call, published, gauge, gauge_server, allow_gauge, create_order, get_order,
        run_worker):
    await api_call(work_call(gauge_server))
    await published(LINE)
    await published({
        "id": "wrapper", "name": "wrapper",
        "nodes": [node("start", "start"),
                  node("label", "sub_blueprint", blueprint="line", input={"sku": "input.sku"},
                       save={"label": "result"}),
                  node("done", "end", result="vars.label")],
        "edges": [edge("start", "label"), edge("label", "done")]})
    await create_order("o-sub", "wrapper", {"sku": "one"})
    await run_worker(**allow_gauge)

    order = await get_order("o-sub")
    assert order["state"] == "completed", order["error"]
    assert order["result"] == "label-one"
    assert (await get_order("o-sub.label.0"))["result"] == "label-one"


async def test_items_that_are_not_a_list_fail_the_step(
        fan_out, create_order, get_order, run_worker, allow_gauge):
    await create_order("o-notlist", "multi", {"lines": "three"})
    await run_worker(**allow_gauge)
    order = await get_order("o-notlist")
    assert order["state"] == "failed"
    each = next(step for step in order["steps"] if step["node"] == "each")
    assert (each["status"], each["error"]["code"]) == ("failed", "bad_items")
    assert "not a list" in each["error"]["message"]


async def test_cancelling_the_parent_cancels_its_active_children(
        api_call, published, gauge, gauge_server, allow_gauge, create_order, get_order,
        runner, db_rows, live_client):
    await api_call(work_call(gauge_server))
    await published(LINE)
    await published(parent_doc())
    await create_order("o-cancel", "multi", lines(8))
    await runner.redis.flushdb()  # drive the parent's first activation by hand
    pk = (await db_rows("SELECT id FROM orders WHERE order_id = 'o-cancel'"))[0]["id"]
    await runner.activate(pk)
    assert (await get_order("o-cancel"))["state"] == "waiting"
    assert len(await db_rows(f"SELECT id FROM orders WHERE parent_pk = {pk}")) == 5

    response = await live_client.post("/api/orders/o-cancel/cancel")
    assert response.status_code == 200, response.text
    states = {row["state"] for row in await db_rows(
        f"SELECT state FROM orders WHERE parent_pk = {pk}")}
    assert states == {"cancelled"}
