"""Group commit: the writes of many concurrent activations share one transaction.

With 20 orders in flight, committing each step on its own serialises on the database
(SQLite allows one writer; every statement is a thread hop through aiosqlite). Instead each
activation hands its step's writes to the `GroupWriter` and awaits the result; the writer
runs everything queued so far in one transaction. A step is still durable before the next
step starts: `write` returns only after the commit that contains it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core import db

Write = Callable[[AsyncSession], Awaitable[Any]]


class GroupWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.lock = db.write_lock(sessions)
        self.pending: list[tuple[Write, asyncio.Future[Any]]] = []
        self.flushing: asyncio.Task[None] | None = None

    async def write(self, work: Write) -> Any:
        """Run `work(session)` in the next group transaction; its result once committed."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append((work, future))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                results = await self._together(batch)
            except Exception:  # one bad write must not fail the others: retry alone
                results = [await self._alone(work) for work, _ in batch]
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _together(self, batch: list[tuple[Write, asyncio.Future[Any]]]) -> list[Any]:
        async with self.sessions() as session:
            await session.connection()
            async with self.lock:
                results = [await work(session) for work, _ in batch]
                await session.commit()
        return results

    async def _alone(self, work: Write) -> Any:
        try:
            return (await self._together([(work, None)]))[0]  # type: ignore[list-item]
        except Exception as exc:
            return exc
