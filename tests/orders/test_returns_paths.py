"""The returns blueprint down each of its paths, with a real worker and the demo services."""

import pytest

RETURN_INPUT = {"ticket_id": "T-100", "country": "US", "order_id": "ORD-100",
                "message": "The strap broke", "customer_email": "kim@example.com",
                "cancel_subscription": True, "condition": "A", "match": True}


def nodes(order):
    return [step["node"] for step in order["steps"]]


@pytest.mark.usefixtures("examples")
async def test_us_path_with_cancel_and_refund(live_client, create_order, get_order, run_worker,
                                              demo_url):
    await create_order("r-us", "returns-approved", RETURN_INPUT)
    await run_worker()
    order = await get_order("r-us")
    assert order["state"] == "sleeping"
    assert order["current_node"] == "wait_for_item"
    assert nodes(order)[-1] == "wait_for_item"
    assert "us_label" in nodes(order) and "ca_label" not in nodes(order)
    assert "cancel_subscription" in nodes(order)
    assert order["vars"]["return_id"] == "ret_T-100"

    assert (await live_client.post("/api/orders/r-us/wake")).status_code == 200
    await run_worker()
    order = await get_order("r-us")
    assert order["state"] == "completed", order["error"]
    assert order["result"] == "return_and_refund_processed"
    assert nodes(order)[-4:] == ["update_match", "refund_order", "comment_ticket", "refunded"]
    assert all(step["status"] in ("completed", "sleeping") for step in order["steps"])
