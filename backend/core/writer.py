"""Group commit: the writes of many concurrent activations (and webhooks) share one
transaction.

With 20 orders in flight, committing each step on its own serialises on the database
(SQLite allows one writer). Instead each activation hands its step's writes to the
`GroupWriter` and awaits the result; the writer runs everything queued so far in one
transaction. A step is still durable before the next step starts: `write` returns only after
the commit that contains it.

A write is a plain function of a synchronous `Connection` running Core statements. On SQLite
the whole batch runs in one hop to the writer's own thread on the standard `sqlite3` driver
(aiosqlite hops threads for every statement, its cursor and each fetch: three times the CPU
per write); on PostgreSQL it runs on the async engine's connection through `run_sync`.

`read` runs a hot-path read (every webhook's "which version is latest") the same way, in one
hop to a reading thread of its own (WAL: it sees every committed write), outside any write.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core import db

Write = Callable[[Connection], Any]


class _Threaded:
    """A SQLite file's synchronous engine and the one thread that uses it (neither when the
    database is PostgreSQL, or an in-memory SQLite database that only its engine sees)."""

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self.engine = engine
        self.sync: Engine | None = None
        self.thread: ThreadPoolExecutor | None = None
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self.sync = db.sync_sqlite_engine(engine)
            self.thread = ThreadPoolExecutor(1, thread_name_prefix=name)

    async def _on_thread(self, run: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.thread, run, self.sync,
                                                                *args)

    def close(self) -> None:
        if self.thread is not None:
            self.thread.shutdown(wait=True)
        if self.sync is not None:
            self.sync.dispose()


class GroupWriter(_Threaded):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine, "sqlite-writer")
        self.lock = db.write_lock(engine)
        self.pending: list[tuple[Write, asyncio.Future[Any]]] = []
        self.flushing: asyncio.Task[None] | None = None

    async def write(self, work: Write) -> Any:
        """Run `work(connection)` in the next group transaction; its result once committed."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((work, future))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            works = [work for work, _ in batch]
            try:
                results = await self._together(works)
            except Exception:  # one bad write must not fail the others: retry alone
                results = [await self._alone(work) for work in works]
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _together(self, works: list[Write]) -> list[Any]:
        async with self.lock:
            if self.sync is not None:
                return await self._on_thread(_run_all, works)
            async with self.engine.begin() as connection:
                return await connection.run_sync(lambda sync: [work(sync) for work in works])

    async def _alone(self, work: Write) -> Any:
        try:
            return (await self._together([work]))[0]
        except Exception as exc:
            return exc


class Reader(_Threaded):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine, "sqlite-reader")

    async def read(self, work: Write) -> Any:
        """`work(connection)` outside any transaction's writes."""
        if self.sync is not None:
            return await self._on_thread(_read, work)
        async with self.engine.connect() as connection:
            return await connection.run_sync(work)


def _run_all(engine: Engine, works: list[Write]) -> list[Any]:
    with engine.begin() as connection:
        return [work(connection) for work in works]


def _read(engine: Engine, work: Write) -> Any:
    with engine.connect() as connection:
        return work(connection)


_writers: weakref.WeakKeyDictionary[AsyncEngine, GroupWriter] = weakref.WeakKeyDictionary()
_readers: weakref.WeakKeyDictionary[AsyncEngine, Reader] = weakref.WeakKeyDictionary()


def writer_for(engine: AsyncEngine) -> GroupWriter:
    """The engine's one group writer (made on first use, closed with the engine)."""
    return _one(_writers, engine, GroupWriter)


async def read(engine: AsyncEngine, work: Write) -> Any:
    """`work(connection)` in one hop (see the module's text), on the engine's one reader."""
    return await _one(_readers, engine, Reader).read(work)


def _one(made: weakref.WeakKeyDictionary[AsyncEngine, Any], engine: AsyncEngine,
         kind: type[GroupWriter] | type[Reader]) -> Any:
    found = made.get(engine)
    if found is None:
        found = made[engine] = kind(engine)

        def closed(_engine: Engine) -> None:  # a disposed engine may be used again: anew
            made.pop(engine, None)
            found.close()

        event.listen(engine.sync_engine, "engine_disposed", closed, once=True)
    return found
