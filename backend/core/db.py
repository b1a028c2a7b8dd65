"""Async engine and sessions; column types shared by the tables; migrations at start."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import JSON, DateTime, Engine, StaticPool, TypeDecorator, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.errors import Conflict

try:
    import fcntl
except ImportError:  # not on Windows: there each process's SQLite busy handler takes turns
    fcntl = None  # type: ignore[assignment]

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"

JSONType = JSON().with_variant(JSONB(), "postgresql")
# What a person wrote (blueprints, API calls, variables, an order's input): PostgreSQL's `json`
# keeps the text as written, so objects come back in the order their keys were typed; `jsonb`
# would reorder them. No query looks inside these columns, so nothing needs jsonb's operators.
DocumentType = JSON()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite keeps no zone, so it is added back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


async def insert_new(session: AsyncSession, row: Any, what: str) -> None:
    """Add and commit a row whose key must be new; a duplicate is a 409, nothing written."""
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"{what} already exists.") from exc


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=20,
                                     max_overflow=40, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=20, max_overflow=40, **kwargs)


def sync_sqlite_engine(engine: AsyncEngine) -> Engine:
    """The same SQLite file on the standard `sqlite3` driver, for work that runs whole in a
    thread of its own (the group writer: one thread hop per batch, not several per statement)."""
    sync = create_engine(engine.url.set(drivername="sqlite+pysqlite"), poolclass=StaticPool,
                         connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(sync, "connect", _sqlite_pragmas)
    return sync


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # order ids are case-sensitive; this also lets `order_id LIKE 'prefix%'` use its index
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the newest migration (run at every start). Processes starting
    together (`waybill dev` starts web and worker at once) take turns: the first migrates,
    the others then find the database at head."""

    def _upgrade(connection: Connection) -> None:
        if connection.dialect.name == "sqlite":
            # pysqlite runs DDL outside any transaction unless one is begun explicitly
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(8243772601)")
        command.upgrade(alembic_config(connection), "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


class _WriterTurn:
    """This process's turn to write a SQLite file: first among its own tasks (an asyncio
    lock), then among processes (`flock` on `<file>-writer`, which wakes a waiting process the
    moment the lock is let go). SQLite's own busy handler, which a second writing process
    (`waybill web` beside `waybill worker`) would otherwise meet, sleeps up to 100 ms a try."""

    def __init__(self, path: str | None) -> None:
        self.lock = asyncio.Lock()
        self.path = path
        self.fd: int | None = None

    async def __aenter__(self) -> None:
        await self.lock.acquire()
        if self.path is None or fcntl is None:
            return
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process writes: wait for it off the event loop
                await asyncio.to_thread(fcntl.flock, self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.lock.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.fd is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()


_sqlite_write_locks: dict[str, _WriterTurn] = {}


def write_lock(sessions: async_sessionmaker[AsyncSession] | AsyncEngine) -> AbstractAsyncContextManager[Any]:
    """One writer at a time per SQLite file, across this process's tasks and across processes
    (see _WriterTurn); nothing on PostgreSQL."""
    engine = sessions if isinstance(sessions, AsyncEngine) else sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    database = engine.url.database
    path = f"{database}-writer" if database and database != ":memory:" else None
    return _sqlite_write_locks.setdefault(str(engine.url), _WriterTurn(path))
