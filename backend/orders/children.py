"""Child orders: what a for_each or sub_blueprint step starts, counts and collects
(`walker.Ports.children`, for one parent activation).

A child is an ordinary order with `parent_pk`/`parent_id`, the node that started it and its
item's index; its id is `{parent id}.{node id}.{index}`, inserted with "on conflict do
nothing", so a crash or a retry of the parent's step never makes a second child for one
item. Children are started as capacity frees up: each call counts the active ones and starts
at most `concurrency` minus that many, in item order, so a list of 10,000 items never has
more than `concurrency` children (nor their rows' inputs) in flight, and the parent holds
only counts until the end, when it reads the results in item order.

The children of one fan-out run on one published version of the child blueprint: the one
the first child was started on (or the latest published, before any). Children that failed
before the parent reached the node again (a reprocess) are reset and run again from their
failed step, under the same ids, so their API calls carry the same idempotency keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from jsonschema import Draft202012Validator
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.core import metrics
from backend.core.db import utcnow
from backend.core.errors import WaybillError
from backend.core.queue import enqueue_activation
from backend.core.writer import GroupWriter
from backend.engine.errors import PermanentStepError
from backend.engine.walker import ChildBatch, ChildProgress, ChildResult
from backend.orders.models import ACTIVE_STATES, FINAL_STATES, Order, OrderState

ORDERS = Order.__table__  # type: ignore[attr-defined]
ORDER_ID_MAX = 200
RERUN = (OrderState.failed, OrderState.cancelled)


class ChildOrders:
    """The children of one parent order."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], writer: GroupWriter,
                 redis: ArqRedis | None, parent: Order) -> None:
        self.sessions, self.writer, self.redis = sessions, writer, redis
        self.parent_pk, self.parent_id = parent.id or 0, parent.order_id
        self.test, self.mock = parent.test, parent.mock

    def _mine(self, node: str) -> Any:
        return (ORDERS.c.parent_pk == self.parent_pk) & (ORDERS.c.parent_node == node)

    async def progress(self, batch: ChildBatch) -> ChildProgress:
        """Start what capacity allows; the counts, and every result once all are final."""
        async with self.sessions() as session:
            counts, next_index, version = await self._counts(session, batch.node)
            reruns = await self._reruns(session, batch, counts)
            spec = await self._version(session, batch.blueprint, version)
        active = sum(n for state, n in counts.items() if state in ACTIVE_STATES)
        free = max(batch.concurrency - active, 0)
        reset = await self._reset(reruns[:free], spec)
        free -= len(reset)
        fresh = list(range(next_index, min(batch.count, next_index + free)))
        started = await self._start(batch, spec, fresh)
        progress = ChildProgress(
            version=spec.number, total=batch.count, started=len(reset) + len(started),
            completed=counts.get(OrderState.completed, 0),
            failed=sum(counts.get(state, 0) for state in RERUN) - len(reset),
            active=active + len(reset) + len(started))
        waiting = len(reruns) > len(reset) or next_index + len(fresh) < batch.count
        if progress.active or waiting:
            return progress
        async with self.sessions() as session:
            progress.final = await self._results(session, batch.node)
        return progress

    async def finished(self, node: str) -> int:
        """How many children of `node` are final now (the parent looks again if it grew)."""
        async with self.sessions() as session:
            query = select(func.count()).where(self._mine(node),
                                               ORDERS.c.state.in_(sorted(FINAL_STATES)))
            return int((await _run(session, query)).scalar_one())

    async def _counts(self, session: AsyncSession,
                      node: str) -> tuple[dict[str, int], int, int | None]:
        query = (select(ORDERS.c.state, func.count(), func.max(ORDERS.c.child_index),
                        func.min(ORDERS.c.version))
                 .where(self._mine(node)).group_by(ORDERS.c.state))
        counts, last, version = {}, -1, None
        for state, count, top, pinned in await _run(session, query):
            counts[state] = count
            last = max(last, top)
            version = pinned if version is None else min(version, pinned or version)
        return counts, last + 1, version

    async def _reruns(self, session: AsyncSession, batch: ChildBatch,
                      counts: dict[str, int]) -> list[int]:
        """Children that failed before the parent reached the node this time (oldest index
        first): they run again."""
        if batch.since is None or not any(counts.get(state) for state in RERUN):
            return []
        query = (select(ORDERS.c.id).where(self._mine(batch.node),
                                           ORDERS.c.state.in_([str(s) for s in RERUN]),
                                           ORDERS.c.updated_at < batch.since)
                 .order_by(ORDERS.c.child_index).limit(batch.concurrency))
        return [pk for (pk,) in await _run(session, query)]

    async def _version(self, session: AsyncSession, blueprint: str,
                       number: int | None) -> plans.Version:
        try:
            if number is not None:
                return await plans.pinned(session, blueprint, number)
            return await plans.latest(session, blueprint)
        except WaybillError as exc:
            raise PermanentStepError("child_blueprint", str(exc)) from exc

    async def _reset(self, pks: list[int], spec: plans.Version) -> list[int]:
        if not pks:
            return []
        now = utcnow()

        def reset(connection: Connection) -> None:
            rows = connection.execute(select(ORDERS.c.id, ORDERS.c.failed_node,
                                             ORDERS.c.current_node, ORDERS.c.state)
                                      .where(ORDERS.c.id.in_(pks))).all()
            for pk, failed_node, current, state in rows:
                node = failed_node or (current if state == OrderState.cancelled else None)
                connection.execute(update(ORDERS).where(ORDERS.c.id == pk).values(
                    state=OrderState.pending, current_node=node or spec.plan.start, attempt=1,
                    error=None, failed_node=None, result=None, branches=None, wake_at=now,
                    entered_at=now, lease_owner=None, lease_until=None, updated_at=now))

        await self.writer.write(reset)
        await self._enqueue(pks, now)
        return pks

    async def _start(self, batch: ChildBatch, spec: plans.Version, indexes: list[int]) -> list[int]:
        if not indexes:
            return []
        now = utcnow()
        validator = spec.input_validator()
        rows = [self._row(batch, spec, index, validator, now) for index in indexes]
        ids = [row["order_id"] for row in rows]

        def insert(connection: Connection) -> list[int]:
            dialect = connection.dialect.name
            insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
            connection.execute(insert_into(ORDERS).values(rows).on_conflict_do_nothing(
                index_elements=["order_id"]))
            found = connection.execute(select(ORDERS.c.id, ORDERS.c.state)
                                       .where(ORDERS.c.order_id.in_(ids)))
            return [pk for pk, state in found if state == OrderState.pending]

        pks = await self.writer.write(insert)
        for row in rows:
            metrics.ORDERS_CREATED.labels(row["blueprint_id"], str(self.test).lower()).inc()
        await self._enqueue(pks, now)
        return pks

    def _row(self, batch: ChildBatch, spec: plans.Version, index: int,
             validator: Draft202012Validator, now: datetime) -> dict[str, Any]:
        order_id = f"{self.parent_id}.{batch.node}.{index}"
        if len(order_id) > ORDER_ID_MAX:
            raise PermanentStepError("child_id_too_long", f"The child id {order_id[:60]}… is "
                                     f"longer than {ORDER_ID_MAX} characters.")
        child_input = batch.inputs(index)  # an expression error fails the parent's step
        problems = [error.message for error in validator.iter_errors(child_input)]
        row = {"order_id": order_id, "blueprint_id": spec.blueprint, "version": spec.number,
               "test": self.test, "mock": self.mock, "dispatch": "immediate",
               "input": child_input, "vars": {}, "current_node": spec.plan.start,
               "attempt": 1, "parent_pk": self.parent_pk, "parent_id": self.parent_id,
               "parent_node": batch.node, "child_index": index, "state": OrderState.pending,
               "wake_at": now, "entered_at": now, "created_at": now, "updated_at": now,
               "failed_node": None, "error": None}  # every row the same keys: one INSERT
        if problems:  # the child exists, failed, so that it is counted, shown and reprocessable
            row |= {"state": OrderState.failed, "wake_at": None, "failed_node": spec.plan.start,
                    "error": {"code": "input_schema", "message": "The child's input does not "
                              f"match {spec.blueprint!r}'s input_schema: {problems[0]}",
                              "node": spec.plan.start}}
        return row

    async def _enqueue(self, pks: list[int], now: datetime) -> None:
        if self.redis is not None:
            for pk in pks:
                await enqueue_activation(self.redis, pk, now)

    async def _results(self, session: AsyncSession, node: str) -> list[ChildResult]:
        query = (select(ORDERS.c.child_index, ORDERS.c.order_id, ORDERS.c.state,
                        ORDERS.c.result, ORDERS.c.error)
                 .where(self._mine(node)).order_by(ORDERS.c.child_index))
        return [ChildResult(index, order_id, state, result, error)
                for index, order_id, state, result, error in await _run(session, query)]


async def _run(session: AsyncSession, statement: Any) -> Any:
    """A Core statement on the session's connection (its rows, or the update's result)."""
    return await (await session.connection()).execute(statement)


async def wake_parent(redis: ArqRedis | None, parent_pk: int | None) -> None:
    """A child became final: its parent looks at its children again (a unique job id, so
    that a parent activation already in progress does not swallow the wake-up)."""
    if redis is not None and parent_pk is not None:
        await enqueue_activation(redis, parent_pk, None, lease_until=utcnow())
