"""ADMIN_TOKEN: every /api call needs it as a bearer token; /healthz and /metrics stay open."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.config import Settings
from backend.main import create_app
from tests.api.helpers import assert_error

TOKEN = "t0ken-for-tests"


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"admin_token": TOKEN}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://waybill") as http:
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
    assert (await guarded.get("/metrics")).status_code == 200


async def test_without_a_token_the_api_is_open(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    response = await client.get("/api/blueprints", headers={"authorization": "Bearer anything"})
    assert (response.status_code, response.json()) == (200, {"data": [], "next_cursor": None})
