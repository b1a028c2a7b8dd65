"""ADMIN_TOKEN: every /api call needs it as a bearer token, and so do /metrics (which also
takes METRICS_TOKEN), /openapi.json, /docs, /redoc and the demo call log; /healthz stays open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from backend.app.main import create_app
from backend.core.config import Settings
from tests.api.helpers import assert_error

TOKEN = "t0ken-for-tests"
METRICS_TOKEN = "scrape-me-0123"


@asynccontextmanager
async def client_of(settings: Settings, **update: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=update))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://waybill") as http:
            yield http


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(settings, admin_token=TOKEN, metrics_token=METRICS_TOKEN,
                         demo_services=True) as http:
        yield http


PATHS = [("GET", "/api/blueprints"), ("GET", "/api/api-calls"), ("GET", "/api/credentials"),
         ("GET", "/api/variables"), ("GET", "/api/functions"),
         ("POST", "/api/expressions/check")]
BAD_AUTH = [None, "Bearer wrong", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "]


async def test_api_refuses_a_missing_or_wrong_token(guarded: httpx.AsyncClient) -> None:
    for authorization in BAD_AUTH:
        headers = {"authorization": authorization} if authorization else {}
        for method, path in PATHS:
            response = await guarded.request(method, path, json={"expression": "1"},
                                             headers=headers)
            assert_error(response, 401, "unauthorized")
    refused = await guarded.put("/api/variables/shop", json={"value": "s1"},
                                headers={"authorization": "Bearer nope"})
    assert_error(refused, 401, "unauthorized")
    listed = await guarded.get("/api/variables", headers={"authorization": f"Bearer {TOKEN}"})
    assert listed.json()["data"] == []


async def test_api_accepts_the_token_and_health_stays_open(guarded: httpx.AsyncClient) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    for method, path in PATHS:
        response = await guarded.request(method, path, json={"expression": "1"},
                                         headers=headers)
        assert response.status_code == 200, path
    made = await guarded.put("/api/variables/shop", json={"value": "s1"}, headers=headers)
    assert made.status_code == 200
    health = await guarded.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (await guarded.get("/metrics", headers=headers)).status_code == 200


ADMIN_ONLY = [("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/demo/calls"),
              ("DELETE", "/demo/calls")]
PAGES = ["/docs", "/redoc"]


async def test_metrics_docs_and_the_demo_call_log_need_the_token(
        guarded: httpx.AsyncClient) -> None:
    await guarded.post("/demo/returns", json={"ticket_id": "T-1", "secret": "body"})
    for authorization in BAD_AUTH:
        headers = {"authorization": authorization} if authorization else {}
        for method, path in ADMIN_ONLY:
            assert_error(await guarded.request(method, path, headers=headers), 401,
                         "unauthorized")
        for path in PAGES:
            response = await guarded.get(path, headers=headers)
            assert (response.status_code, response.headers["location"]) == (
                303, f"/login?next={path}")
    headers = {"authorization": f"Bearer {TOKEN}"}
    metrics = await guarded.get("/metrics", headers=headers)
    assert metrics.status_code == 200 and "waybill" in metrics.text
    schema = await guarded.get("/openapi.json", headers=headers)
    assert schema.status_code == 200 and "/api/blueprints" in schema.json()["paths"]
    for path in PAGES:
        page = await guarded.get(path, headers=headers)
        assert page.status_code == 200 and "/openapi.json" in page.text
    calls = await guarded.get("/demo/calls", headers=headers)
    assert calls.status_code == 200 and calls.json()["data"][0]["body"]["secret"] == "body"
    assert (await guarded.get("/healthz")).status_code == 200


async def test_metrics_token_opens_metrics_only(guarded: httpx.AsyncClient) -> None:
    headers = {"authorization": f"Bearer {METRICS_TOKEN}"}
    assert (await guarded.get("/metrics", headers=headers)).status_code == 200
    for method, path in [*ADMIN_ONLY[1:], *PATHS]:
        response = await guarded.request(method, path, json={"expression": "1"},
                                         headers=headers)
        assert_error(response, 401, "unauthorized")
    assert (await guarded.get("/docs", headers=headers)).status_code == 303
    assert_error(await guarded.post("/webhooks/bp", json={"order_id": "o"}, headers=headers),
                 401, "unauthorized")


async def test_metrics_token_alone_guards_metrics(settings: Settings) -> None:
    async with client_of(settings, metrics_token=METRICS_TOKEN) as http:
        assert_error(await http.get("/metrics"), 401, "unauthorized")
        ok = await http.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
        assert ok.status_code == 200
        assert (await http.get("/openapi.json")).status_code == 200  # no ADMIN_TOKEN: open


async def test_without_a_token_the_api_is_open(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    for path in ("/metrics", "/openapi.json", "/docs", "/redoc"):
        assert (await client.get(path)).status_code == 200, path
    response = await client.get("/api/blueprints", headers={"authorization": "Bearer anything"})
    assert (response.status_code, response.json()) == (200, {"data": [], "next_cursor": None})
