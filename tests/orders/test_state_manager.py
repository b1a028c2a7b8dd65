"""The order-state-manager blueprint (the state-manager seed) end to end through the batch
loop, down its success path and its `failed` path."""

import pytest

from backend.demo.orders import items_for
from backend.orders.dispatch import run_batch
from tests.orders.builders import step_runs

SUCCESS = ["start", "create_order", "get_items", "first_item", "process_order", "processed"]


def call_keys(calls):
    return [(call["method"], call["path"], call["idempotency_key"], call["status"])
            for call in calls]


@pytest.mark.usefixtures("examples")
async def test_batch_order_runs_to_processed(create_order, get_order, run_worker, runner,
                                             live_settings, demo_calls):
    created = await create_order("SO-1", "order-state-manager",
                                 {"order_id": "SO-1", "customer_id": "cus_42"})
    assert created["state"] == "pending"
    await run_worker()  # batch orders are the batch loop's, not the queue's
    assert (await get_order("SO-1"))["state"] == "pending"
    assert await demo_calls() == []

    assert await run_batch(runner, live_settings) == 1
    order = await get_order("SO-1")
    items = items_for("SO-1")
    assert order["state"] == "completed", order["error"]
    assert step_runs(order) == [(node, 1, "completed") for node in SUCCESS]
    assert order["vars"] == {"shop_order_id": "ord_SO-1", "line_items": items, "item": items[0],
                             "order_status": "processed"}
    assert order["result"] == {"order_id": "ord_SO-1", "sku": items[0]["sku"],
                               "status": "processed"}
    assert order["steps"][3]["response"] == {"result": items[0]}
    calls = await demo_calls()
    assert call_keys(calls) == [
        ("POST", "/orders", "SO-1:create_order", 201),
        ("GET", "/orders/ord_SO-1/items", "SO-1:get_items", 200),
        ("POST", "/orders/ord_SO-1/process", "SO-1:process_order", 200)]
    assert calls[0]["body"] == {"reference": "SO-1", "customer_id": "cus_42"}
    assert calls[2]["body"] == {"sku": items[0]["sku"], "qty": items[0]["qty"]}
    assert await run_batch(runner, live_settings) == 0


@pytest.mark.usefixtures("examples")
async def test_failed_processing_takes_the_failed_edge(live_client, create_order, get_order,
                                                      runner, live_settings, demo_calls):
    spec = (await live_client.get("/api/api-calls/process-order")).json()
    spec["query"] = {"fail": "always", "fail_status": "400"}
    spec = {key: value for key, value in spec.items() if key not in ("created_at", "updated_at")}
    assert (await live_client.put("/api/api-calls/process-order", json=spec)).status_code == 200
    await create_order("SO-2", "order-state-manager", {"order_id": "SO-2"})

    assert await run_batch(runner, live_settings) == 1
    order = await get_order("SO-2")
    assert order["state"] == "failed"
    assert step_runs(order) == [(node, 1, "completed") for node in SUCCESS[:4]] + [
        ("process_order", 1, "failed"), ("record_failure", 1, "completed"),
        ("process_failed", 1, "completed")]
    assert order["result"] == "process_failed"
    assert order["failed_node"] == "process_order"
    error = order["error"]
    assert (error["code"], error["message"], error["transient"], error["node"],
            error["attempt"]) == ("http_status", "HTTP 400", False, "process_order", 1)
    assert error["details"]["response"]["status"] == 400
    assert "order_status" not in order["vars"]
    assert order["vars"]["shop_order_id"] == "ord_SO-2"

    calls = await demo_calls()
    assert call_keys(calls) == [
        ("POST", "/orders", "SO-2:create_order", 201),
        ("GET", "/orders/ord_SO-2/items", "SO-2:get_items", 200),
        ("POST", "/orders/ord_SO-2/process", "SO-2:process_order", 400),
        ("POST", "/orders/ord_SO-2/fail", "SO-2:record_failure", 200)]
    recorded = calls[3]["body"]
    assert recorded["reason"] == "processing failed"
    assert recorded["step"] == "process_order"
    assert recorded["error"]["code"] == "http_status"
    assert recorded["error"]["details"]["response"]["body"] == {
        "error": "injected failure 1 (always)"}
    assert calls[0]["body"] == {"reference": "SO-2", "customer_id": "guest"}
