"""Order figures for the dashboard and the orders list: counts by state, orders finished per
minute over the last hour, recent failures.

Counts are a GROUP BY over every matching order: at a million rows that takes tens to
hundreds of milliseconds (bench/orders_list.py), and live pages ask again after every change.
So answers are kept for a moment per (database, question): a page that refreshes on every
event costs at most one query per COUNTS_TTL_S, however busy the engine is.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Integer, cast, func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import utcnow
from backend.orders.models import Order, OrderState
from backend.orders.schemas import OrderFilter
from backend.orders.service import _filtered

COUNTS_TTL_S = 2.0
THROUGHPUT_TTL_S = 5.0
WINDOW_MINUTES = 60
STATES = [state.value for state in OrderState]
# Literal, not bound: SQLite uses the partial index `ix_orders_finished` only when the query
# repeats its WHERE term exactly (migration 0002).
FINISHED_SQL = text("orders.state IN ('completed', 'failed')")
T = TypeVar("T")

_cache: dict[tuple[str, ...], tuple[float, Any]] = {}


class Minute(BaseModel):
    at: datetime
    completed: int = 0
    failed: int = 0


class FailedOrder(BaseModel):
    order_id: str
    blueprint: str
    version: int | None
    failed_node: str | None
    error: dict[str, Any] | None
    updated_at: datetime


class OrderStats(BaseModel):
    counts: dict[str, int]
    total: int
    throughput: list[Minute]
    recent_failures: list[FailedOrder]
    fresh_in_s: float = Field(0.0, description="when cached counts are recomputed (0: now)")


async def _cached(key: tuple[str, ...], ttl_s: float,
                  compute: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    """The value and how many seconds it stays as it is (0: just computed)."""
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now and ttl_s > 0:
        return hit[1], hit[0] - now
    value = await compute()
    if len(_cache) > 1000:
        _cache.clear()
    _cache[key] = (now + ttl_s, value)
    return value, 0.0


def _key(session: AsyncSession, name: str, where: OrderFilter | None = None) -> tuple[str, ...]:
    bind = session.bind
    return (str(getattr(bind, "url", "")), name, where.model_dump_json() if where else "")


async def counts_by_state(*, session: AsyncSession, where: OrderFilter,
                          ttl_s: float = COUNTS_TTL_S) -> dict[str, int]:
    """How many orders match `where` in each state (its own `state` is ignored), every
    state present, zeros included."""
    return (await counts_with_age(session=session, where=where, ttl_s=ttl_s))[0]


async def counts_with_age(*, session: AsyncSession, where: OrderFilter,
                          ttl_s: float = COUNTS_TTL_S) -> tuple[dict[str, int], float]:
    """The counts, and for how many more seconds they are served from the cache: a live
    page that got cached counts asks once more after that, so it never stays behind."""
    unstated = where.model_copy(update={"state": None})

    async def compute() -> dict[str, int]:
        # grouped by blueprint too, so that the (test, blueprint_id, state) index covers it
        query = _filtered(select(Order.blueprint_id, Order.state, func.count()), unstated)
        found: dict[str, int] = dict.fromkeys(STATES, 0)
        for _, state, count in await session.exec(query.group_by(Order.blueprint_id, Order.state)):
            found[state] = found.get(state, 0) + count
        return found

    return await _cached(_key(session, "counts", unstated), ttl_s, compute)


def _minute_of(column: Any, dialect: str) -> Any:
    """Whole minutes since the epoch, computed by the database."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer) / 60
    return cast(func.floor(func.extract("epoch", column) / 60), Integer)


async def throughput(*, session: AsyncSession, blueprint: str | None = None,
                     now: datetime | None = None,
                     ttl_s: float = THROUGHPUT_TTL_S) -> list[Minute]:
    """Orders that finished (completed or failed) in each of the last 60 minutes, oldest
    first. An order counts in the minute of its last change."""
    now = now or utcnow()
    first = int(now.timestamp()) // 60 - WINDOW_MINUTES + 1
    since = datetime.fromtimestamp(first * 60, now.tzinfo)

    async def compute() -> list[Minute]:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        minute = _minute_of(Order.updated_at, dialect).label("minute")
        query = (select(minute, Order.state, func.count())
                 .where(FINISHED_SQL, col(Order.updated_at) >= since, col(Order.test).is_(False))
                 .group_by(minute, Order.state))
        if blueprint:
            query = query.where(Order.blueprint_id == blueprint)
        buckets = [Minute(at=since + timedelta(minutes=i)) for i in range(WINDOW_MINUTES)]
        for bucket, state, count in await session.exec(query):
            index = int(bucket) - first
            if 0 <= index < WINDOW_MINUTES:
                setattr(buckets[index], state, count)
        return buckets

    return (await _cached(_key(session, f"throughput:{blueprint}:{first}"), ttl_s, compute))[0]


async def recent_failures(*, session: AsyncSession, limit: int = 10,
                          blueprint: str | None = None) -> list[FailedOrder]:
    """The last orders that failed, newest first."""
    query = (select(Order).where(Order.state == OrderState.failed, col(Order.test).is_(False))
             .order_by(col(Order.id).desc()).limit(limit))
    if blueprint:
        query = query.where(Order.blueprint_id == blueprint)
    return [FailedOrder.model_validate(row.model_dump() | {"blueprint": row.blueprint_id})
            for row in await session.exec(query)]


async def order_stats(*, session: AsyncSession, blueprint: str | None = None) -> OrderStats:
    """Everything the dashboard shows, for real (not test) orders."""
    counts, fresh_in = await counts_with_age(session=session, where=OrderFilter(blueprint=blueprint))
    return OrderStats(
        counts=counts, total=sum(counts.values()), fresh_in_s=round(fresh_in, 3),
        throughput=await throughput(session=session, blueprint=blueprint),
        recent_failures=await recent_failures(session=session, blueprint=blueprint))
