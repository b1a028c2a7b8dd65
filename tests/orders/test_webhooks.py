"""`POST /webhooks/{blueprint_id}`: an order from any JSON body, once per order id, with an
optional HMAC signature (`X-Waybill-Timestamp`, `X-Waybill-Signature: sha256=<hex>`)."""

import hashlib
import hmac
import json
import time

import pytest

from backend.orders.dispatch import run_batch
from tests.orders.builders import linear

HOOK_SECRET = "whsec-0123456789abcdef"


def signed(body: bytes, *, secret: str = HOOK_SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {"X-Waybill-Timestamp": timestamp, "X-Waybill-Signature": "sha256=" + digest.hexdigest(),
            "Content-Type": "application/json"}


async def order_ids(client) -> list[str]:
    return [order["order_id"] for order in (await client.get("/api/orders")).json()["data"]]


@pytest.mark.usefixtures("examples")
async def test_a_delivery_makes_one_order_however_often_it_comes(live_client, get_order, runner,
                                                                 live_settings):
    first = await live_client.post("/webhooks/order-state-manager",
                                   json={"order_id": "W-1", "customer_id": "cus_9"})
    assert first.status_code == 202, first.text
    assert (first.json()["order_id"], first.json()["state"], first.json()["input"]) == (
        "W-1", "pending", {"order_id": "W-1", "customer_id": "cus_9"})
    again = await live_client.post("/webhooks/order-state-manager",
                                   json={"order_id": "W-1", "customer_id": "someone-else"})
    assert again.status_code == 202
    assert again.json()["created_at"] == first.json()["created_at"]
    assert again.json()["input"] == {"order_id": "W-1", "customer_id": "cus_9"}
    assert await order_ids(live_client) == ["W-1"]

    assert await run_batch(runner, live_settings) == 1  # the blueprint dispatches in batches
    order = await get_order("W-1")
    assert (order["state"], order["result"]["order_id"]) == ("completed", "ord_W-1")
    replay = await live_client.post("/webhooks/order-state-manager", json={"order_id": "W-1"})
    assert (replay.status_code, replay.json()["state"]) == (202, "completed")


@pytest.mark.usefixtures("examples")
async def test_bad_deliveries_are_refused_and_create_nothing(live_client):
    hook = "/webhooks/order-state-manager"
    cases = [
        ({"json": {"customer_id": "c"}}, 400, "bad_request"),  # no order id anywhere
        ({"json": {"customer_id": "c"}, "headers": {"Idempotency-Key": "W-2"}}, 422, "invalid"),
        ({"json": {"order_id": "W-3", "customer_id": 42}}, 422, "invalid"),
        ({"json": {"order_id": ""}}, 400, "bad_request"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400,
         "bad_request"),
        ({"json": [{"order_id": "W-4"}]}, 400, "bad_request"),
        ({"json": {"order_id": "W-5", "pad": "x" * 300_000}}, 413, "payload_too_large"),
    ]
    for kwargs, status, kind in cases:
        response = await live_client.post(hook, **kwargs)
        assert (response.status_code, response.json()["type"]) == (status, kind), kwargs
    response = await live_client.post("/webhooks/no-such-blueprint", json={"order_id": "W-6"})
    assert response.status_code == 404
    assert await order_ids(live_client) == []


async def test_the_idempotency_key_is_the_order_id_without_a_field(live_client, published):
    await published(linear("keyed-bp", result="input.n"))
    for n in (1, 2):
        response = await live_client.post("/webhooks/keyed-bp", json={"n": n},
                                          headers={"Idempotency-Key": "K-1"})
        assert (response.status_code, response.json()["order_id"]) == (202, "K-1")
        assert response.json()["input"] == {"n": 1}
    assert await order_ids(live_client) == ["K-1"]


@pytest.fixture
async def signed_bp(live_client, published):
    response = await live_client.post("/api/credentials", json={
        "id": "hook-key", "name": "hook", "type": "hmac", "secret": HOOK_SECRET})
    assert response.status_code == 201, response.text
    await published(linear("signed-bp", result="input.id",
                           webhook={"credential": "hook-key", "order_id_field": "id"}))


@pytest.mark.usefixtures("signed_bp")
async def test_a_good_signature_is_accepted(live_client, get_order, run_worker):
    body = json.dumps({"id": "S-1", "total": 12}).encode()
    response = await live_client.post("/webhooks/signed-bp", content=body, headers=signed(body))
    assert response.status_code == 202, response.text
    await run_worker()
    order = await get_order("S-1")
    assert (order["state"], order["result"], order["input"]) == (
        "completed", "S-1", {"id": "S-1", "total": 12})


@pytest.mark.usefixtures("signed_bp")
async def test_bad_missing_or_stale_signatures_are_refused(live_client):
    body = json.dumps({"id": "S-2"}).encode()
    other = json.dumps({"id": "S-3"}).encode()
    good = signed(body)
    cases = {
        "bad": {**good, "X-Waybill-Signature": "sha256=" + "0" * 64},
        "wrong secret": signed(body, secret="another-secret-of-16+"),
        "other body": signed(other) | {"X-Waybill-Timestamp": good["X-Waybill-Timestamp"]},
        "missing": {"Content-Type": "application/json"},
        "no signature": {k: v for k, v in good.items() if k != "X-Waybill-Signature"},
        "no timestamp": {k: v for k, v in good.items() if k != "X-Waybill-Timestamp"},
        "6 minutes old": signed(body, at=time.time() - 360),
        "6 minutes ahead": signed(body, at=time.time() + 360),
        "not a time": {**good, "X-Waybill-Timestamp": "yesterday"},
    }
    for name, headers in cases.items():
        response = await live_client.post("/webhooks/signed-bp", content=body, headers=headers)
        assert (response.status_code, response.json()["type"]) == (401, "unauthorized"), name
    assert await order_ids(live_client) == []
    fresh = signed(body, at=time.time() - 240)  # within the 5 minutes of tolerance
    response = await live_client.post("/webhooks/signed-bp", content=body, headers=fresh)
    assert response.status_code == 202


@pytest.mark.usefixtures("examples")
async def test_a_webhook_order_id_must_be_a_valid_order_id(live_client):
    long_a, long_b = "L" * 200 + "-a" * 25, "L" * 200 + "-b" * 25
    for order_id in ("has space/and slash", long_a, long_b):
        response = await live_client.post("/webhooks/order-state-manager",
                                          json={"order_id": order_id})
        assert response.status_code in (400, 422), (order_id, response.text)
    assert await order_ids(live_client) == []


@pytest.mark.usefixtures("signed_bp")
async def test_the_published_version_decides_the_signature_check(live_client):
    draft = linear("signed-bp", result="input.id", webhook={"order_id_field": "id"})
    assert (await live_client.put("/api/blueprints/signed-bp", json=draft)).status_code == 200
    response = await live_client.post("/webhooks/signed-bp", json={"id": "S-9"})
    assert response.status_code == 401
    assert await order_ids(live_client) == []
