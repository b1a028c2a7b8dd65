"""SDK fixtures: the live app on a real loopback port, a real arq worker running beside it
for the whole test, and the blueprints the tests start orders on. The blocking `Client` is
called through `asyncio.to_thread`: the server and the worker run on the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from arq.worker import Worker
from fastapi import FastAPI

from backend.app.main import create_app
from backend.app.worker import make_worker
from backend.core.config import Settings
from tests.conftest import served
from tests.orders.builders import FAST_RETRY, demo_call, linear, node

TOKEN = "sdk-t0ken"
DOUBLE = linear("sdk-double", result="input.n * 2")
REFUSE = linear("sdk-refuse", node("refuse", "api_call", api_call="sdk-refused"))
APPROVAL = linear("sdk-approval", node("approval", "wait_signal", signal="approved",
                                       timeout="1h", save={"by": "signal.by"}),
                  result="vars.by")
NAP = linear("sdk-nap", node("nap", "sleep", duration="1s"), result="'rested'")


@asynccontextmanager
async def app_served(settings: Settings) -> AsyncIterator[str]:
    """A second web process on the same database (it writes nothing at start)."""
    app = create_app(settings.model_copy(update={"demo_url": ""}))
    async with app.router.lifespan_context(app), served(app) as url:
        yield url


@pytest.fixture
async def url(live_app: FastAPI, blueprints: None) -> AsyncIterator[str]:
    """The live app (Redis, demo services) with the SDK blueprints published, on a port."""
    async with served(live_app) as served_url:
        yield served_url


@pytest.fixture
async def worker(live_settings: Settings, live_app: FastAPI) -> AsyncIterator[Worker]:
    """A real arq worker (not in burst mode: waits go on while it runs), until the test ends."""
    running = make_worker(live_settings, loops=False)
    task = asyncio.create_task(running.async_run())
    try:
        yield running
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await running.close()
        for number in (signal.SIGINT, signal.SIGTERM):  # arq took them over from pytest
            asyncio.get_running_loop().remove_signal_handler(number)


@pytest.fixture
async def blueprints(live_client: httpx.AsyncClient) -> None:
    refused = demo_call("sdk-refused", "/responses?fail=always&fail_status=400", retry=FAST_RETRY)
    assert (await live_client.post("/api/api-calls", json=refused)).status_code == 201
    for doc in (DOUBLE, REFUSE, APPROVAL, NAP):
        created = await live_client.post("/api/blueprints", json=doc)
        assert created.status_code == 201 and created.json()["valid"], created.text
        published = await live_client.post(f"/api/blueprints/{doc['id']}/publish")
        assert published.status_code == 201, published.text


@pytest.fixture
async def guarded_url(live_settings: Settings, live_app: FastAPI) -> AsyncIterator[str]:
    """The app with ADMIN_TOKEN set (TOKEN)."""
    async with app_served(live_settings.model_copy(update={"admin_token": TOKEN})) as served:
        yield served


@pytest.fixture
async def redisless_url(live_settings: Settings, url: str) -> AsyncIterator[str]:
    """A web process without Redis on the same database: its event stream answers 409."""
    async with app_served(live_settings.model_copy(update={"redis_url": ""})) as served:
        yield served


def blocking(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
    """A blocking call (the sync client, the CLI) in a thread, off the server's loop."""
    return asyncio.to_thread(function, *args, **kwargs)


class Requests:
    """An httpx event hook that counts what a client sent, as "METHOD path"."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, request: httpx.Request) -> None:
        self.sent.append(f"{request.method} {request.url.path}")

    async def async_hook(self, request: httpx.Request) -> None:
        self(request)

    def count(self, entry: str) -> int:
        return self.sent.count(entry)
