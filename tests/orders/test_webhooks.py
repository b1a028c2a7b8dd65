"""`POST /webhooks/{blueprint_id}`: an order from any JSON body, once per order id, with an
HMAC signature (`X-Waybill-Timestamp`, `X-Waybill-Signature: sha256=<hex>` of
`"<timestamp>.<Idempotency-Key or empty>.<raw body>"`) when the blueprint names a credential,
and the admin token as a bearer token otherwise when ADMIN_TOKEN is set."""

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from backend.app.main import create_app
from backend.core.queue import QUEUE
from backend.orders import webhooks
from backend.orders.dispatch import run_batch
from tests.orders.builders import demo_call, linear, node

HOOK_SECRET = "whsec-0123456789abcdef"
ADMIN = "hook-admin-token"
BEARER = {"Authorization": f"Bearer {ADMIN}"}


def signed(body: bytes, *, key: str | None = None, secret: str = HOOK_SECRET,
           at: float | None = None) -> dict[str, str]:
    """Headers of a signed delivery (with `Idempotency-Key: key` when a key is given)."""
    timestamp = str(int(at if at is not None else time.time()))
    message = f"{timestamp}.{key or ''}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256)
    headers = {"X-Waybill-Timestamp": timestamp,
               "X-Waybill-Signature": "sha256=" + digest.hexdigest(),
               "Content-Type": "application/json"}
    return headers | ({"Idempotency-Key": key} if key is not None else {})


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
        "old format, no key part": {**good, "X-Waybill-Signature": "sha256=" + hmac.new(
            HOOK_SECRET.encode(), good["X-Waybill-Timestamp"].encode() + b"." + body,
            hashlib.sha256).hexdigest()},
        "signed with a key, sent without": {
            k: v for k, v in signed(body, key="S-2").items() if k != "Idempotency-Key"},
        "signed without a key, sent with one": good | {"Idempotency-Key": "S-2"},
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


def test_sign_covers_timestamp_key_and_body() -> None:
    expected = hmac.new(b"k" * 16, b"1700000000.K-1.{}", hashlib.sha256).hexdigest()
    assert webhooks.sign("k" * 16, "1700000000", "K-1", b"{}") == "sha256=" + expected
    assert webhooks.sign("k" * 16, "1700000000", None, b"{}") == webhooks.sign(
        "k" * 16, "1700000000", "", b"{}")


async def test_a_signed_delivery_replayed_with_another_key_is_refused(live_client, published):
    """The order id comes from Idempotency-Key here: a captured delivery must not be able to
    make more orders by changing the key within the 5 minutes."""
    response = await live_client.post("/api/credentials", json={
        "id": "hook-key", "name": "hook", "type": "hmac", "secret": HOOK_SECRET})
    assert response.status_code == 201, response.text
    await published(linear("keyed-signed", result="input.total",
                           webhook={"credential": "hook-key"}))
    body = json.dumps({"total": 12}).encode()
    captured = signed(body, key="K-1")
    first = await live_client.post("/webhooks/keyed-signed", content=body, headers=captured)
    assert (first.status_code, first.json()["order_id"]) == (202, "K-1"), first.text
    for key in ("K-2", "K-3", "K-1x", ""):
        replay = await live_client.post("/webhooks/keyed-signed", content=body,
                                        headers=captured | {"Idempotency-Key": key})
        assert (replay.status_code, replay.json()["type"]) == (401, "unauthorized"), key
    again = await live_client.post("/webhooks/keyed-signed", content=body, headers=captured)
    assert (again.status_code, again.json()["order_id"]) == (202, "K-1")  # the same order
    assert await order_ids(live_client) == ["K-1"]


# -- with ADMIN_TOKEN set ---------------------------------------------------------------------


@pytest.fixture
async def guarded(live_settings, demo_url) -> AsyncIterator[httpx.AsyncClient]:
    """The app with ADMIN_TOKEN set; a blueprint calling the demo services, published with
    a webhook block but no credential, one with no webhook block, and a signed one."""
    app = create_app(live_settings.model_copy(update={"admin_token": ADMIN}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://waybill",
                                     headers=BEARER) as admin:
            async with httpx.AsyncClient() as raw:
                await raw.delete(f"{demo_url}/calls")
            made = await admin.post("/api/api-calls", json=demo_call("hook-call", "/returns"))
            assert made.status_code == 201, made.text
            made = await admin.post("/api/credentials", json={
                "id": "hook-key", "name": "hook", "type": "hmac", "secret": HOOK_SECRET})
            assert made.status_code == 201, made.text
            step = node("call", "api_call", api_call="hook-call")
            for doc in (linear("open-hook", step, webhook={"order_id_field": "id"}),
                        linear("no-hook-block", step),
                        linear("signed-hook", step, webhook={"credential": "hook-key",
                                                             "order_id_field": "id"})):
                assert (await admin.post("/api/blueprints", json=doc)).status_code == 201
                published = await admin.post(f"/api/blueprints/{doc['id']}/publish")
                assert published.status_code == 201, published.text
        async with httpx.AsyncClient(transport=transport, base_url="http://waybill") as http:
            yield http


async def guarded_order_ids(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/api/orders", headers=BEARER)
    return [order["order_id"] for order in response.json()["data"]]


async def test_with_an_admin_token_unsigned_deliveries_are_refused_and_write_nothing(
        guarded, db_rows, redis_url, run_worker, demo_calls):
    from tests.api.helpers import assert_error

    body = json.dumps({"id": "U-1", "total": 1}).encode()
    json_type = {"Content-Type": "application/json"}
    attempts = [
        ("/webhooks/open-hook", json_type),
        ("/webhooks/no-hook-block", json_type | {"Idempotency-Key": "U-2"}),
        ("/webhooks/open-hook", json_type | {"Authorization": "Bearer wrong"}),
        ("/webhooks/open-hook", json_type | {"Authorization": f"Basic {ADMIN}"}),
        ("/webhooks/open-hook", json_type | {"Authorization": f"Bearer {ADMIN}x"}),
        ("/webhooks/signed-hook", json_type),
        ("/webhooks/signed-hook", signed(body, secret="another-secret-of-16+")),
        # the admin token does not replace the signature a blueprint asks for
        ("/webhooks/signed-hook", json_type | BEARER),
        ("/webhooks/no-such-blueprint", json_type),  # not a 404: strangers learn nothing
    ]
    for path, headers in attempts:
        assert_error(await guarded.post(path, content=body, headers=headers), 401, "unauthorized")
    assert await db_rows("SELECT order_id FROM orders") == []
    redis = Redis.from_url(redis_url)
    try:
        assert await redis.zcard(QUEUE) == 0  # nothing enqueued
    finally:
        await redis.aclose()
    await run_worker()
    assert await demo_calls() == []  # and no outbound call made


async def test_with_an_admin_token_the_bearer_token_or_a_signature_is_accepted(
        guarded, run_worker, demo_calls):
    body = json.dumps({"id": "B-1"}).encode()
    response = await guarded.post("/webhooks/open-hook", content=body,
                                  headers=BEARER | {"Content-Type": "application/json"})
    assert (response.status_code, response.json()["order_id"]) == (202, "B-1"), response.text
    response = await guarded.post("/webhooks/no-hook-block", json={"total": 2},
                                  headers=BEARER | {"Idempotency-Key": "B-2"})
    assert (response.status_code, response.json()["order_id"]) == (202, "B-2"), response.text
    body = json.dumps({"id": "S-1"}).encode()
    response = await guarded.post("/webhooks/signed-hook", content=body, headers=signed(body))
    assert (response.status_code, response.json()["order_id"]) == (202, "S-1"), response.text
    assert sorted(await guarded_order_ids(guarded)) == ["B-1", "B-2", "S-1"]
    await run_worker()
    assert len(await demo_calls("/returns")) == 3
