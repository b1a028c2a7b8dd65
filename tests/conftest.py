"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL
is set), the app with its lifespan, and an HTTP client against it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from backend import db
from backend.config import Settings, normalise_database_url
from backend.main import create_app

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


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
