"""The returns blueprint down each of its paths, with a real worker and the demo services.

The 3-day sleep is fast-forwarded through the harness (`POST /api/orders/{id}/wake`), never by
editing the blueprint.
"""

from datetime import datetime, timedelta

import pytest

from backend.demo.store import digits
from tests.orders.builders import step_runs

BEFORE_SLEEP = ["start", "generate_response", "is_us"]
LINKED = ["create_return", "record_workflow", "wants_cancel"]
REFUND = ["instant_refund", "update_match", "refund_order", "comment_ticket", "refunded"]
NO_REFUND = ["instant_refund", "returned"]
REPLY = ("Hello, thanks for contacting us about ticket #{ticket}: we have your message and a "
         "member of our team will reply within a day.")
CARRIERS = {"US": ("USPS", "9400", 18), "CA": ("Canada Post", "", 16)}

CASES = {
    "us-cancel-refund": ({"country": "US", "cancel_subscription": True, "condition": "A",
                          "match": True}, True),
    "ca-keep-refund": ({"country": "CA", "cancel_subscription": False, "condition": "A",
                        "match": True}, False),
    "us-keep-grade-b": ({"country": "US", "condition": "B", "match": True}, False),
    "ca-cancel-unmatched": ({"country": "CA", "cancel_subscription": True, "condition": "A",
                             "match": False}, True),
}


def tracking_of(country: str, ticket: str) -> str:
    _, prefix, count = CARRIERS[country]
    return prefix + digits(f"{country.lower()}:{ticket}", count)


def expected_path(country: str, cancel: bool, refund: bool) -> tuple[list[str], list[str]]:
    """Nodes up to the sleep, and after the wake."""
    label = "us_label" if country == "US" else "ca_label"
    before = [*BEFORE_SLEEP, label, *LINKED, *(["cancel_subscription"] if cancel else []),
              "wait_for_item"]
    return before, ["wait_for_item", *(REFUND if refund else NO_REFUND)]


def expected_calls(order_id: str, ticket: str, country: str, cancel: bool,
                   refund: bool) -> tuple[list[tuple], list[tuple]]:
    """(method, path, Idempotency-Key) the demo services receive before and after the sleep."""
    label = ("POST", f"/labels/{country.lower()}", f"{order_id}:{country.lower()}_label")
    before = [("POST", "/responses", f"{order_id}:generate_response"), label,
              ("POST", "/returns", f"{order_id}:create_return"),
              ("PATCH", f"/returns/ret_{ticket}", f"{order_id}:record_workflow")]
    if cancel:
        before.append(("POST", "/subscriptions/cancel", f"{order_id}:cancel_subscription"))
    after = [("PATCH", f"/returns/ret_{ticket}", f"{order_id}:update_match"),
             ("POST", "/refunds", f"{order_id}:refund_order"),
             ("POST", f"/tickets/{ticket}/comments", f"{order_id}:comment_ticket")]
    return before, after if refund else []


def call_keys(calls):
    return [(call["method"], call["path"], call["idempotency_key"]) for call in calls]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.usefixtures("examples")
async def test_returns_path(case, create_order, get_order, run_worker, wake, demo_calls):
    flags, cancel = CASES[case]
    order_id, ticket = f"r-{case}", f"T-{case}"
    refund = flags["condition"] == "A" and flags["match"]
    payload = {"ticket_id": ticket, "order_id": f"ORD-{case}", "message": "The strap broke",
               "customer_email": "kim@example.com", **flags}
    nodes_before, nodes_after = expected_path(flags["country"], cancel, refund)
    calls_before, calls_after = expected_calls(order_id, ticket, flags["country"], cancel, refund)
    carrier = CARRIERS[flags["country"]][0]
    tracking = tracking_of(flags["country"], ticket)

    created = await create_order(order_id, "returns-approved", payload)
    assert (created["state"], created["version"], created["steps"]) == ("pending", 1, [])
    await run_worker()
    order = await get_order(order_id)
    assert (order["state"], order["current_node"]) == ("sleeping", "wait_for_item")
    assert step_runs(order) == [(node, 1, "completed") for node in nodes_before[:-1]] + [
        ("wait_for_item", 1, "sleeping")]
    slept_at = datetime.fromisoformat(order["steps"][-1]["finished_at"])
    assert abs(datetime.fromisoformat(order["wake_at"]) - slept_at - timedelta(days=3)) < \
        timedelta(seconds=5)
    assert order["steps"][2]["response"] == {  # the edge it took, and why
        "value": flags["country"] == "US",
        "reads": [{"path": "input.country", "value": flags["country"]}]}
    assert order["vars"] == {"response_text": REPLY.format(ticket=ticket), "carrier": carrier,
                             "tracking_number": tracking, "return_id": f"ret_{ticket}"}
    assert call_keys(await demo_calls()) == calls_before
    assert order["result"] is None

    await wake(order_id)
    await run_worker()
    order = await get_order(order_id)
    assert order["state"] == "completed", order["error"]
    assert step_runs(order)[len(nodes_before):] == [(node, 1, "completed")
                                                    for node in nodes_after]
    calls = await demo_calls()
    assert call_keys(calls) == calls_before + calls_after
    assert all(call["status"] in (200, 201) for call in calls)
    assert order["error"] is None and order["failed_node"] is None
    if refund:
        assert order["result"] == "return_and_refund_processed"
        assert order["vars"]["refund_id"] == f"re_ORD-{case}_1"
        by_path = {call["path"]: call["body"] for call in calls}
        assert by_path["/refunds"] == {"order_id": f"ORD-{case}",
                                       "reason": "return received in condition A"}
        assert by_path[f"/tickets/{ticket}/comments"]["body"] == (
            f"We received your return (tracking {tracking}) in condition A and issued refund "
            f"re_ORD-{case}_1.")
    else:
        assert order["result"] == "return_processed"
        assert "refund_id" not in order["vars"]
    assert calls[2]["body"] == {"ticket_id": ticket, "order_id": f"ORD-{case}",
                                "tracking_number": tracking}
    assert calls[3]["body"] == {"workflow_id": order_id}


@pytest.mark.usefixtures("examples")
async def test_sleeping_order_does_not_move_without_its_wake_up(create_order, get_order,
                                                                run_worker, demo_calls):
    await create_order("r-idle", "returns-approved", {"ticket_id": "1", "country": "US",
                                                      "order_id": "9"})
    await run_worker()
    before = await get_order("r-idle")
    await run_worker()
    after = await get_order("r-idle")
    assert after == before
    assert before["state"] == "sleeping"
    assert len(await demo_calls()) == 4
