"""Engine fixtures: the example blueprints imported and published, and order helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.blueprints.files import EXAMPLES, import_file
from backend.core.config import Settings
from backend.core.queue import connect_redis
from backend.orders.outbound import HttpCaller, OutboundPolicy, make_client
from backend.orders.runner import Runner
from tests.conftest import served

Json = dict[str, Any]


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
async def examples(live_app: FastAPI) -> None:
    async with live_app.state.waybill.sessions() as session:
        for name in ("returns-approved", "order-state-manager"):
            await import_file(session=session, path=EXAMPLES / f"{name}.json", publish_it=True)


@pytest.fixture
def create_order(live_client: httpx.AsyncClient) -> Callable[..., Awaitable[Json]]:
    async def create(order_id: str, blueprint: str, payload: Json) -> Json:
        response = await live_client.post("/api/orders", json={
            "order_id": order_id, "blueprint": blueprint, "input": payload})
        assert response.status_code == 201, response.text
        return response.json()

    return create


@pytest.fixture
def get_order(live_client: httpx.AsyncClient) -> Callable[[str], Awaitable[Json]]:
    async def get(order_id: str) -> Json:
        response = await live_client.get(f"/api/orders/{order_id}")
        assert response.status_code == 200, response.text
        return response.json()

    return get


@pytest.fixture
def api_call(live_client: httpx.AsyncClient) -> Callable[[Json], Awaitable[Json]]:
    """Create an API call definition through the API."""

    async def create(spec: Json) -> Json:
        response = await live_client.post("/api/api-calls", json=spec)
        assert response.status_code == 201, response.text
        return response.json()

    return create


@pytest.fixture
def published(live_client: httpx.AsyncClient) -> Callable[[Json], Awaitable[int]]:
    """Create a blueprint through the API and publish it; answers the version."""

    async def create(doc: Json) -> int:
        response = await live_client.post("/api/blueprints", json=doc)
        assert response.status_code == 201, response.text
        assert response.json()["valid"], response.json()["errors"]
        response = await live_client.post(f"/api/blueprints/{doc['id']}/publish")
        assert response.status_code == 201, response.text
        return response.json()["version"]

    return create


@pytest.fixture
def demo_calls(demo_url: str) -> Callable[..., Awaitable[list[Json]]]:
    """The demo services' call log (oldest first), optionally of one path."""

    async def calls(path: str | None = None) -> list[Json]:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{demo_url}/calls", params={"path": path} if path else {})
        return response.json()["data"]

    return calls


@pytest.fixture
def wake(live_client: httpx.AsyncClient) -> Callable[[str], Awaitable[Json]]:
    """Fast-forward a sleeping order (the harness's stand-in for waiting days)."""

    async def wake_up(order_id: str) -> Json:
        response = await live_client.post(f"/api/orders/{order_id}/wake")
        assert response.status_code == 200, response.text
        return response.json()

    return wake_up


@pytest.fixture
def db_rows(live_app: FastAPI) -> Callable[[str], Awaitable[list[Json]]]:
    """Raw rows of a table, as the database holds them."""

    async def rows(sql: str) -> list[Json]:
        async with live_app.state.waybill.sessions() as session:
            result = await session.connection()
            found = await result.execute(text(sql))
            return [dict(row._mapping) for row in found]

    return rows


@pytest.fixture
async def runner(live_app: FastAPI, live_settings: Settings) -> AsyncIterator[Runner]:
    """A Runner as the worker builds one: the app's sessions, an arq pool, an HttpCaller."""
    redis = await connect_redis(live_settings.redis_url)
    client = make_client("httpx")
    caller = HttpCaller(client, OutboundPolicy(live_settings.outbound_allow),
                        live_settings.max_response_bytes)
    try:
        yield Runner(live_app.state.waybill.sessions, redis, caller, live_settings)
    finally:
        await client.aclose()
        await redis.aclose()


ECHO_LOG: list[Json] = []


async def _echo(request: Request) -> Response:
    """Answers what it received (method, path, headers, query, body); `/redirect?to=` redirects."""
    if request.url.path.startswith("/redirect"):
        return Response(status_code=302, headers={"Location": request.query_params["to"]})
    received = {"method": request.method, "path": request.url.path, "url": str(request.url),
                "headers": dict(request.headers), "query": dict(request.query_params),
                "body": (await request.body()).decode()}
    ECHO_LOG.append(received)
    return JSONResponse(received)


@pytest.fixture(scope="session")
async def echo_server() -> AsyncIterator[str]:
    from starlette.applications import Starlette

    app = Starlette(routes=[Route("/{path:path}", _echo, methods=["GET", "POST", "PUT"])])
    async with served(app) as url:
        yield url


@pytest.fixture
def echo_url(echo_server: str) -> str:
    """A tiny server on a real loopback port that echoes each request (and redirects);
    what it received is in `ECHO_LOG`."""
    ECHO_LOG.clear()
    return echo_server
