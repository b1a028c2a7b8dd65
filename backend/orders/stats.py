"""Order figures for the dashboard and the orders list: counts by state, orders finished per
minute over the last hour, recent failures, and the slowest and most-failing steps of the
last hour.

Counts are a GROUP BY over every matching order: at a million rows that takes tens to
hundreds of milliseconds (bench/orders_list.py), and live pages ask again after every change.
So answers are kept for a moment per (database, question): a page that refreshes on every
event costs at most one query per COUNTS_TTL_S, however busy the engine is.

Step figures read only the step runs that started in the last hour (`ix_step_runs_started_at`,
migration 0003), never the whole `step_runs` table.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, Field, computed_field
from sqlalchemy import Float, Integer, case, cast, func, text
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.db import utcnow
from backend.orders.models import Order, OrderState, StepRun
from backend.orders.schemas import OrderFilter
from backend.orders.service import _filtered

COUNTS_TTL_S = 2.0
THROUGHPUT_TTL_S = 5.0
STEPS_TTL_S = 10.0
STEPS_SHOWN = 5
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


class SlowStep(BaseModel):
    blueprint: str
    node: str
    runs: int = Field(description="attempts that finished in the window")
    p95_ms: float
    avg_ms: float


class FailingStep(BaseModel):
    blueprint: str
    node: str
    failed: int = Field(description="attempts that failed for good (retries used up)")
    completed: int
    retried: int = Field(description="attempts that failed and were retried")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failure_rate(self) -> float:
        """Failed out of the times the step finished (completed or failed), 0 to 1."""
        return self.failed / (self.failed + self.completed) if self.failed else 0.0


class OrderStats(BaseModel):
    counts: dict[str, int]
    total: int
    throughput: list[Minute]
    recent_failures: list[FailedOrder]
    slowest_steps: list[SlowStep] = Field(default_factory=list)
    failing_steps: list[FailingStep] = Field(default_factory=list)
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
    """Whole minutes since the epoch, computed by the database. Floor division (`//`):
    in SQLAlchemy 2 `/` is true division, which would give every second a bucket of its own."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer) // 60
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


def _duration_ms(started: Any, finished: Any, dialect: str) -> Any:
    """Milliseconds between two timestamps, computed by the database."""
    if dialect == "sqlite":
        return (func.julianday(finished) - func.julianday(started)) * 86_400_000.0
    return cast(func.extract("epoch", finished - started), Float) * 1000.0


def _recent_steps(since: datetime, blueprint: str | None,
                  columns: Callable[[Any], list[Any]]) -> tuple[Any, Any]:
    """The step runs of real orders that started since `since`, as a CTE `steps` joined to
    `orders`; answers (the CTE, the join). MATERIALIZED makes the start-time index the way
    in: joined directly, SQLite's planner starts from `orders` (by its `test` index) and
    reads every step run of every order (migration 0003 has the figures)."""
    steps = (core_select(col(StepRun.order_pk), col(StepRun.node), col(StepRun.status),
                         col(StepRun.started_at), col(StepRun.finished_at))
             .where(col(StepRun.started_at) >= since).cte("steps").prefix_with("MATERIALIZED"))
    query = (core_select(*columns(steps)).select_from(steps)
             .join(Order, col(Order.id) == steps.c.order_pk).where(col(Order.test).is_(False)))
    return steps, query.where(col(Order.blueprint_id) == blueprint) if blueprint else query


async def slowest_steps(*, session: AsyncSession, blueprint: str | None = None,
                        now: datetime | None = None, limit: int = STEPS_SHOWN,
                        ttl_s: float = STEPS_TTL_S) -> list[SlowStep]:
    """The (blueprint, node) pairs whose attempts took longest over the last hour, by p95
    (nearest rank) of finished - started; sleeps and signal waits left out."""
    since = (now or utcnow()) - timedelta(minutes=WINDOW_MINUTES)

    def columns(steps: Any) -> list[Any]:
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        took = _duration_ms(steps.c.started_at, steps.c.finished_at, dialect)
        pair = (Order.blueprint_id, steps.c.node)
        return [col(Order.blueprint_id).label("blueprint"), steps.c.node.label("node"),
                took.label("ms"),
                func.row_number().over(partition_by=pair, order_by=took).label("rank"),
                func.count().over(partition_by=pair).label("runs"),
                func.avg(took).over(partition_by=pair).label("avg_ms")]

    async def compute() -> list[SlowStep]:
        steps, query = _recent_steps(since, blueprint, columns)
        ranked = query.where(steps.c.finished_at.is_not(None),
                             steps.c.status.in_(("completed", "failed", "retrying"))).subquery()
        # integer division on both backends: the nearest rank, ceil(0.95 n)
        p95: Any = core_select(ranked.c.blueprint, ranked.c.node, ranked.c.runs, ranked.c.ms,
                               ranked.c.avg_ms)
        p95 = p95.where(ranked.c.rank == (ranked.c.runs * 95 + 99) // 100)
        rows = await session.exec(p95.order_by(ranked.c.ms.desc(), ranked.c.blueprint,
                                               ranked.c.node).limit(limit))
        return [SlowStep(blueprint=b, node=n, runs=runs, p95_ms=round(ms, 1),
                         avg_ms=round(avg, 1)) for b, n, runs, ms, avg in rows]

    return (await _cached(_key(session, f"slowest:{blueprint}:{limit}"), ttl_s, compute))[0]


async def failing_steps(*, session: AsyncSession, blueprint: str | None = None,
                        now: datetime | None = None, limit: int = STEPS_SHOWN,
                        ttl_s: float = STEPS_TTL_S) -> list[FailingStep]:
    """The (blueprint, node) pairs with the most failed attempts over the last hour."""
    since = (now or utcnow()) - timedelta(minutes=WINDOW_MINUTES)

    def columns(steps: Any) -> list[Any]:
        def tally(status: str) -> Any:
            return func.sum(case((steps.c.status == status, 1), else_=0)).label(status)

        return [Order.blueprint_id, steps.c.node, tally("failed"), tally("completed"),
                tally("retrying")]

    async def compute() -> list[FailingStep]:
        steps, query = _recent_steps(since, blueprint, columns)
        failed = query.selected_columns.failed
        query = (query.group_by(Order.blueprint_id, steps.c.node).having(failed > 0)
                 .order_by(failed.desc(), Order.blueprint_id, steps.c.node).limit(limit))
        return [FailingStep(blueprint=b, node=n, failed=f, completed=c, retried=r)
                for b, n, f, c, r in await session.exec(query)]

    return (await _cached(_key(session, f"failing:{blueprint}:{limit}"), ttl_s, compute))[0]


async def order_stats(*, session: AsyncSession, blueprint: str | None = None) -> OrderStats:
    """Everything the dashboard shows, for real (not test) orders."""
    counts, fresh_in = await counts_with_age(session=session, where=OrderFilter(blueprint=blueprint))
    return OrderStats(
        counts=counts, total=sum(counts.values()), fresh_in_s=round(fresh_in, 3),
        throughput=await throughput(session=session, blueprint=blueprint),
        recent_failures=await recent_failures(session=session, blueprint=blueprint),
        slowest_steps=await slowest_steps(session=session, blueprint=blueprint),
        failing_steps=await failing_steps(session=session, blueprint=blueprint))
