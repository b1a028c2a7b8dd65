"""Concurrency keys: at most `limit` active orders of a blueprint per value of its key.

A blueprint's `concurrency` (`{"key": "input.customer_id", "limit": 1}`) gives each of its
orders a key when it is created: `blueprint:value`. An order whose key already has `limit`
active orders (any state but `queued` and the final ones: one sleeping for a day holds its
slot), or older orders queued, is inserted `queued`, with no wake-up and no job. When an order
of a key ends (or is cancelled), `admit` turns the key's oldest queued orders `pending` as slots
free up, in the order they were created, and their jobs are enqueued. The sweeper admits too,
so a worker killed between an order's end and its admission loses no queued order.

Every count-then-write runs in one transaction, serialised per key: on PostgreSQL by an
advisory lock on the key's hash, on SQLite by the one writer per file (`core.writer`).
Test runs (on a draft) are not limited.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core.db import utcnow
from backend.core.errors import Invalid
from backend.core.queue import Wake, enqueue_activations
from backend.core.writer import writer_for
from backend.engine import expressions
from backend.engine.expressions import ExpressionError
from backend.engine.format import ConcurrencyLimit
from backend.orders.models import HOLDING_STATES, Order, OrderState

ORDERS = Order.__table__  # type: ignore[attr-defined]
MAX_KEY = 300
_HOLDING = sorted(HOLDING_STATES)


def key_of(blueprint_id: str, limit: ConcurrencyLimit, payload: dict[str, Any]) -> str:
    """The order's key, from its input; a key that cannot be worked out is the caller's 422."""
    try:
        value = expressions.evaluate(limit.key, {"input": payload})
    except ExpressionError as exc:
        raise Invalid(f"The concurrency key {limit.key} cannot be worked out from this input: "
                      f"{exc}", [{"path": "/concurrency/key", "code": "concurrency_key",
                                  "message": str(exc)}]) from exc
    if value is None:
        raise Invalid(f"The concurrency key {limit.key} is empty for this input.",
                      [{"path": "/concurrency/key", "code": "concurrency_key",
                        "message": f"{limit.key} gave nothing"}])
    shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    key = f"{blueprint_id}:{shown}"
    if len(key) > MAX_KEY:
        key = f"{blueprint_id}:sha256:{hashlib.sha256(shown.encode()).hexdigest()}"
    return key


def _serialise(connection: Connection, key: str) -> None:
    """Hold the key until the transaction ends (SQLite: the writer holds the file already)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 7))"),
                           {"key": key})


def _holding(connection: Connection, key: str) -> int:
    return connection.execute(select(func.count()).select_from(ORDERS).where(
        ORDERS.c.concurrency_key == key, ORDERS.c.state.in_(_HOLDING))).scalar_one()


def insert(connection: Connection, statement: Any, values: dict[str, Any]) -> tuple[int, str]:
    """Insert an order (`statement` returns its pk), `queued` when its key has no free slot
    or older orders wait; its pk and state."""
    key = values.get("concurrency_key")
    if key is not None:
        _serialise(connection, key)
        waiting = connection.execute(select(ORDERS.c.id).where(
            ORDERS.c.concurrency_key == key, ORDERS.c.state == OrderState.queued).limit(1)).first()
        if waiting is not None or _holding(connection, key) >= values["concurrency_limit"]:
            values = values | {"state": OrderState.queued.value, "wake_at": None}
    return connection.execute(statement, values).scalar_one(), values["state"]


def admit(connection: Connection, key: str, now: datetime) -> list[int]:
    """Make the key's oldest queued orders pending while it has free slots; the pks of those
    to enqueue now (batch-dispatched ones wait for their batch)."""
    _serialise(connection, key)
    queued = connection.execute(select(
        ORDERS.c.id, ORDERS.c.concurrency_limit, ORDERS.c.dispatch).where(
        ORDERS.c.concurrency_key == key, ORDERS.c.state == OrderState.queued,
    ).order_by(ORDERS.c.id).limit(100)).all()
    if not queued:
        return []
    free = (queued[0].concurrency_limit or 1) - _holding(connection, key)
    chosen = queued[:max(free, 0)]
    if chosen:
        connection.execute(ORDERS.update().where(
            ORDERS.c.id.in_([row.id for row in chosen]), ORDERS.c.state == OrderState.queued,
        ).values(state=OrderState.pending.value, wake_at=now, updated_at=now))
    return [row.id for row in chosen if row.dispatch == "immediate"]


async def admit_queued(engine: AsyncEngine, redis: ArqRedis | None, keys: Iterable[str]) -> int:
    """`admit` each key (one transaction for all), then enqueue the admitted orders."""
    wanted = sorted(set(keys))
    if not wanted:
        return 0
    now = utcnow()
    admitted = await writer_for(engine).write(
        lambda connection: [pk for key in wanted for pk in admit(connection, key, now)])
    if redis is not None and admitted:
        await enqueue_activations(redis, [Wake(pk, now) for pk in admitted])
    return len(admitted)


def queued_keys(connection: Connection, limit: int = 200) -> list[str]:
    """Keys with queued orders (the sweeper admits each: a lost admission is found again)."""
    return list(connection.execute(select(ORDERS.c.concurrency_key).where(
        ORDERS.c.state == OrderState.queued).distinct().limit(limit)).scalars())
