"""One activation of one order: lease it, walk steps, commit after every step, schedule the
next wake-up. Two workers never run one order at once: the lease is a conditional UPDATE.

The lease is short (LEASE_S, 30 s) and renewed every third of it while a step runs, so a
live worker keeps its orders through a slow API call and a killed one loses them within
seconds: the sweeper re-enqueues orders whose lease ran out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.service import all_specs
from backend.blueprints import plans
from backend.core import events, metrics
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.queue import enqueue_activation
from backend.core.writer import writer_for
from backend.credentials.crypto import SecretBox
from backend.credentials.models import Credential
from backend.engine.branches import LIVE, ROOT, Applied, Lane, Lanes, apply
from backend.engine.walker import (
    SIDE_EFFECT_FREE,
    Advance,
    AwaitChildren,
    Finish,
    OrderView,
    Plan,
    Step,
    take_step,
)
from backend.orders import checkpoints, concurrency
from backend.orders.children import ChildOrders, wake_parent
from backend.orders.executor import CredentialValue, Executor
from backend.orders.models import Order, OrderState, Signal
from backend.orders.outbound import HttpCaller
from backend.orders.throttle import Limiter
from backend.variables.service import as_scope

CHILD_NODES = frozenset({"for_each", "sub_blueprint"})
INSTANT = SIDE_EFFECT_FREE | {"end"}  # steps that run in microseconds
log = logging.getLogger(__name__)


@dataclass
class Runner:
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    caller: HttpCaller | None
    settings: Settings

    def __post_init__(self) -> None:
        self.box = SecretBox(self.settings.resolved_secret_key)
        self.writer = writer_for(self.sessions.kw["bind"])
        self.limiter = Limiter(self.redis)
        self._context: tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]] | None = None

    async def activate(self, order_pk: int) -> None:
        """Run the order from where it is until it ends, sleeps, waits or must retry."""
        token = uuid.uuid4().hex
        now = utcnow()
        until = now + timedelta(seconds=self.settings.lease_s)
        order, generation = await self.writer.write(
            lambda connection: checkpoints.lease(connection, order_pk, token, now, until))
        if order is None:
            return
        released = False
        try:
            async with self.sessions() as session:
                released = await self._walk(session, order, token, generation)
        finally:
            if not released:
                await self._release(order_pk, token)

    @contextlib.asynccontextmanager
    async def _renewing(self, order_pk: int, token: str) -> AsyncIterator[None]:
        """While the activation's steps run, renew its lease every third of LEASE_S."""
        renewal = asyncio.create_task(self._renew_forever(order_pk, token))
        try:
            yield
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _renew_forever(self, order_pk: int, token: str) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_s / 3)
            try:
                await self.writer.write(lambda connection: checkpoints.renew(
                    connection, order_pk, token, utcnow() + timedelta(seconds=self.settings.lease_s)))
            except Exception:  # the step goes on; its checkpoint decides whether we still own it
                log.warning("could not renew the lease of order %s", order_pk, exc_info=True)

    async def _release(self, order_pk: int, token: str) -> None:
        await self.writer.write(
            lambda connection: checkpoints.release(connection, order_pk, token))

    async def _walk(self, session: AsyncSession, order: Order, token: str,
                    generation: int) -> bool:
        """Walk every due lane until each stops; True when the last commit released the lease.
        `session` is for reads that caches do not answer (a plan, a signal, a changed
        configuration): none, most activations."""
        order_pk = order.id or 0
        plan = await self._plan(session, order)
        lanes = Lanes.of_order(_root_lane(order), order.branches)
        now = utcnow()
        starts: dict[str, tuple[int, Any] | None] = {}
        for name, lane in lanes.live().items():
            signal = await self._signal_for(session, order_pk, plan, lane.node)
            if _due(plan, order.state if name == ROOT else lane.state, lane, signal, now):
                starts[name] = signal
        if not starts:
            return False
        specs, variables, credentials = await self._context_for(session, generation)
        if session.in_transaction():
            await session.commit()  # hold no connection (nor transaction) during the steps
        fan = ChildOrders(self.sessions, self.writer, self.redis, order)
        walk = _Walk(order, plan, lanes, dict(order.vars), variables, token, Executor(
            self.caller, specs, {} if order.mock else credentials, mock=order.mock,
            stored_response_bytes=self.settings.stored_response_bytes, fan=fan,
            limiter=self.limiter))
        async with self._renewing(order_pk, token), asyncio.TaskGroup() as group:
            walk.group = group
            for name, signal in starts.items():
                resuming = lanes[name].state in ("sleeping", "waiting")
                throttled = lanes[name].state == "throttled"
                lanes[name].state = "running"
                group.create_task(self._lane(walk, name, signal, resuming, throttled))
        if walk.lost:
            return False
        if walk.finish is not None:
            await wake_parent(self.redis, order.parent_pk)
            if order.concurrency_key:  # its slot is free: the key's next queued order starts
                await concurrency.admit_queued(self.sessions.kw["bind"], self.redis,
                                               [order.concurrency_key])
            return True
        # lanes waiting on children are woken by them; their `wake_at` is the sweeper's
        wakes = [lane.wake_at for lane in lanes.live().values()
                 if lane.wake_at is not None and plan.nodes[lane.node].type not in CHILD_NODES]
        if wakes:
            await enqueue_activation(self.redis, order_pk, min(wakes))
        return True

    async def _lane(self, walk: _Walk, name: str, signal: tuple[int, Any] | None,
                    resuming: bool, throttled: bool = False) -> None:
        """One lane's steps, until it stops (or its branch was stopped by a failed sibling)."""
        outbox = [{"type": "step_started", "node": walk.lanes[name].node, "lane": name,
                   "attempt": walk.lanes[name].attempt}]
        held: tuple[dict[str, Any], list[dict[str, Any]]] | None = None
        while not walk.lost and walk.finish is None and name in walk.lanes:
            lane = walk.lanes[name]
            view = walk.view(lane, signal, resuming, throttled)
            throttled = False
            await events.publish(self.redis, walk.order.order_id, outbox)
            started = utcnow()
            step = await take_step(walk.plan, view, walk.executor)
            finished = utcnow()
            _measure(walk.plan, step, started, finished)
            stopped = name not in walk.lanes  # a sibling's failure stopped this branch
            applied = Applied() if stopped else apply(walk.lanes, walk.plan, name, step, finished)
            if step.saved and not stopped:
                walk.vars |= step.saved
            walk.finish = walk.finish or applied.finish
            changes = walk.changes(step, finished, self.settings.lease_s)
            signal_id = signal[0] if signal and step.consumed_signal else None
            step_runs = [_step_run(walk, name, step, started, finished)] if step.record else []
            if held is not None:  # the side-effect-free steps before this one
                changes, step_runs, held = held[0] | changes, held[1] + step_runs, None
            if applied.walk == [name] and _holdable(walk, name, step):
                held = (changes, step_runs)  # committed with the next step's writes
            elif not await self._commit(walk.order.id or 0, walk.token, changes, step_runs,
                                        signal_id):
                # taken from us; unless by our own end (a stopped branch's step finishing
                # after a sibling failed the order), which still wakes a parent
                walk.lost = walk.finish is None
                return
            outbox = [_finished_event(step, name, changes["state"])]
            if isinstance(step.outcome, AwaitChildren):
                await self._look_again(walk, step)
            for other in applied.walk:
                if other != name and walk.group is not None:
                    walk.group.create_task(self._lane(walk, other, None, other in applied.resume))
            if name not in applied.walk:
                await events.publish(self.redis, walk.order.order_id, outbox)
                return
            resuming = name in applied.resume
            lane = walk.lanes[name]
            outbox.append({"type": "step_started", "node": lane.node, "lane": name,
                           "attempt": lane.attempt})
            signal = None
            if walk.plan.nodes[lane.node].type == "wait_signal":
                async with self.sessions() as session:
                    signal = await self._signal_for(session, walk.order.id or 0, walk.plan,
                                                    lane.node)

    async def _look_again(self, walk: _Walk, step: Step) -> None:
        """A child may have ended while the parent looked: if more are final than the step
        saw, the parent wakes at once (the child's own wake-up found the parent leased)."""
        assert isinstance(step.outcome, AwaitChildren)
        fan = walk.executor.fan
        if fan is not None and await fan.finished(step.node) > step.outcome.finished:
            await wake_parent(self.redis, walk.order.id)

    async def _signal_for(self, session: AsyncSession, order_pk: int, plan: Plan,
                          node_id: str) -> tuple[int, Any] | None:
        """The oldest unconsumed signal a wait_signal node waits for, as (id, payload)."""
        node = plan.nodes.get(node_id)
        if node is None or node.type != "wait_signal":
            return None
        row = (await session.exec(select(Signal).where(
            Signal.order_pk == order_pk, Signal.name == node.signal,
            col(Signal.consumed_at).is_(None)).order_by(col(Signal.id)).limit(1))).first()
        return (row.id or 0, row.payload) if row else None

    async def _plan(self, session: AsyncSession, order: Order) -> Plan:
        version = await plans.of_order(session, blueprint_id=order.blueprint_id,
                                       number=order.version, definition=order.definition)
        return version.plan

    async def _context_for(self, session: AsyncSession,
                           generation: int) -> tuple[dict, dict, dict]:
        """API calls, variables and opened credentials, read again when any of them changed
        since (the database counts their changes: `config_generation`, read with the lease)."""
        if self._context is None or self._context[0] != generation:
            specs = await all_specs(session=session)
            wanted = {spec.credential for spec in specs.values() if spec.credential}
            rows = await session.exec(select(Credential).where(col(Credential.id).in_(wanted)))
            credentials = {row.id: CredentialValue(row.type, row.meta, self.box.open(row.secret))
                           for row in rows}
            self._context = (generation, specs, await as_scope(session=session), credentials)
        return self._context[1], self._context[2], self._context[3]

    async def _commit(self, order_pk: int, token: str, changes: dict[str, Any],
                      step_runs: list[dict[str, Any]], signal_id: int | None) -> bool:
        """Step runs, vars, position and state in one transaction; False if the order was taken
        from us (cancelled, or the lease was lost): the step runs are still recorded."""
        return await self.writer.write(lambda connection: checkpoints.checkpoint(
            connection, order_pk, token, changes, step_runs, signal_id))


@dataclass
class _Walk:
    """One activation's shared state: its lanes walk concurrently on one event loop."""

    order: Order
    plan: Plan
    lanes: Lanes
    vars: dict[str, Any]
    variables: dict[str, Any]
    token: str
    executor: Executor
    group: asyncio.TaskGroup | None = None
    finish: Finish | None = None
    lost: bool = False

    def view(self, lane: Lane, signal: tuple[int, Any] | None, resuming: bool,
             throttled: bool = False) -> OrderView:
        order = self.order
        node = self.plan.nodes[lane.node]
        return OrderView(
            order_id=order.order_id, blueprint=order.blueprint_id, version=order.version,
            input=order.input, vars=self.vars, node=lane.node, attempt=lane.attempt,
            error=lane.error, wake_at=lane.wake_at if resuming else None,
            signals={node.signal: signal[1]} if signal and node.signal else {},
            variables=self.variables, test=order.test, resuming=resuming,
            entered_at=lane.entered_at, throttled=throttled)

    def changes(self, step: Step, now: datetime, lease_s: float) -> dict[str, Any]:
        """The order's new columns after a step, from its lanes (built when the step's commit
        is queued, so the last commit of an activation holds its last state)."""
        root = self.lanes.root
        state, wake_at = self.lanes.summary()
        changes: dict[str, Any] = {
            "updated_at": now, "state": state, "wake_at": wake_at, "current_node": root.node,
            "attempt": root.attempt, "entered_at": root.entered_at,
            "branches": self.lanes.branches_json()}
        if step.saved:
            changes["vars"] = dict(self.vars)
        if step.status == "failed":
            changes["failed_node"], changes["error"] = step.node, step.error
        if self.finish is not None:
            changes |= {"state": self.finish.status, "result": self.finish.result,
                        "wake_at": None, "branches": None}
            if self.finish.error is not None:
                changes["error"] = self.finish.error
        if changes["state"] == OrderState.running:
            changes["lease_until"] = now + timedelta(seconds=lease_s)
        else:  # the activation ends with this commit
            changes |= {"lease_owner": None, "lease_until": None}
        return changes


def _holdable(walk: _Walk, lane: str, step: Step) -> bool:
    """A step whose writes may wait for the next step's commit: it did nothing outside the
    order (start, condition, function), and the step its lane goes on to is as instant
    (another of those, or an end), so what the order's page shows is never a step behind
    while something slow runs. An API call, children started, a signal consumed, and every
    stop, commit at once; a crash before the commit runs the held steps again, which changes
    nothing outside. Only while one lane walks: a sibling branch could end the order first."""
    nodes = walk.plan.nodes
    return (nodes[step.node].type in SIDE_EFFECT_FREE and step.status == "completed"
            and walk.finish is None and len(walk.lanes.live()) == 1
            and nodes[walk.lanes[lane].node].type in INSTANT)


def _root_lane(order: Order) -> Lane:
    state = order.state if order.state in LIVE else "running"
    if order.branches:
        state = "forked"
    return Lane(node=order.current_node or "", attempt=order.attempt, state=state,
                wake_at=order.wake_at, error=order.error if order.failed_node else None,
                entered_at=order.entered_at)


def _due(plan: Plan, state: str, lane: Lane, signal: tuple[int, Any] | None,
         now: datetime) -> bool:
    """Whether a lane has work (a sweeper or a duplicate job may come early). A parent
    waiting on children always looks: a child's end wakes it before its `wake_at`."""
    if state in (OrderState.pending, OrderState.running) or signal is not None:
        return True
    if plan.nodes[lane.node].type in CHILD_NODES:
        return True
    return lane.wake_at is None or lane.wake_at <= now


def _step_run(walk: _Walk, lane: str, step: Step, started: datetime,
              finished: datetime) -> dict[str, Any]:
    return {"order_pk": walk.order.id, "node": step.node, "lane": lane or None,
            "attempt": step.attempt,
            "status": step.status, "started_at": started, "finished_at": finished,
            "request": step.request, "response": step.response, "saved": step.saved or None,
            "error": step.error}


def _measure(plan: Plan, step: Step, started: datetime, finished: datetime) -> None:
    node_type = plan.nodes[step.node].type
    metrics.STEPS.labels(node_type, step.status).inc()
    metrics.STEP_SECONDS.labels(node_type).observe((finished - started).total_seconds())
    if not isinstance(step.outcome, Advance):
        metrics.ACTIVATIONS.labels(type(step.outcome).__name__.lower()).inc()


def _finished_event(step: Step, lane: str, state: str) -> dict[str, Any]:
    return {"type": "step_finished", "node": step.node, "lane": lane, "attempt": step.attempt,
            "status": step.status, "state": state, "error": step.error}
