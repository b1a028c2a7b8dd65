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
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend import events, metrics
from backend.api_calls.service import all_specs
from backend.blueprints import plans
from backend.config import Settings
from backend.credentials.crypto import SecretBox
from backend.credentials.models import Credential
from backend.db import utcnow
from backend.engine.walker import Advance, Finish, OrderView, Plan, Retry, Sleep, Step, Wait, take_step
from backend.orders import checkpoints
from backend.orders.executor import CredentialValue, Executor
from backend.orders.models import Order, OrderState, Signal
from backend.orders.outbound import HttpCaller
from backend.orders.writer import GroupWriter
from backend.queue import enqueue_activation
from backend.variables.service import as_scope

CONTEXT_TTL_S = 1.0
log = logging.getLogger(__name__)


@dataclass
class Runner:
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    caller: HttpCaller | None
    settings: Settings

    def __post_init__(self) -> None:
        self.box = SecretBox(self.settings.resolved_secret_key)
        self.writer = GroupWriter(self.sessions)
        self._context: tuple[float, dict[str, Any], dict[str, Any], dict[str, Any]] | None = None

    async def activate(self, order_pk: int) -> None:
        """Run the order from where it is until it ends, sleeps, waits or must retry."""
        token = uuid.uuid4().hex
        if not await self._lease(order_pk, token):
            return
        released = False
        try:
            async with self.sessions() as session:
                released = await self._walk(session, order_pk, token)
        finally:
            if not released:
                await self._release(order_pk, token)

    async def _lease(self, order_pk: int, token: str) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=self.settings.lease_s)
        return await self.writer.write(
            lambda session: checkpoints.lease(session, order_pk, token, now, until))

    async def _renewing(self, order_pk: int, token: str, work: Awaitable[Step]) -> Step:
        """Await a step while renewing the lease every third of LEASE_S."""
        renewal = asyncio.create_task(self._renew_forever(order_pk, token))
        try:
            return await work
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _renew_forever(self, order_pk: int, token: str) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_s / 3)
            try:
                await self.writer.write(lambda session: checkpoints.renew(
                    session, order_pk, token, utcnow() + timedelta(seconds=self.settings.lease_s)))
            except Exception:  # the step goes on; its checkpoint decides whether we still own it
                log.warning("could not renew the lease of order %s", order_pk, exc_info=True)

    async def _release(self, order_pk: int, token: str) -> None:
        await self.writer.write(lambda session: checkpoints.release(session, order_pk, token))

    async def _walk(self, session: AsyncSession, order_pk: int, token: str) -> bool:
        """Walk until the order stops; True when the last commit released the lease."""
        order = await session.get(Order, order_pk)
        if order is None:
            return False
        plan = await self._plan(session, order)
        signal = await self._signal_for(session, order_pk, plan, order.current_node or "")
        if not _due(order, signal):
            return False
        specs, variables, credentials = await self._context_for(session, plan)
        view = _view(order, variables)
        executor = Executor(self.caller, specs, {} if order.mock else credentials, mock=order.mock,
                            stored_response_bytes=self.settings.stored_response_bytes)
        outbox = [_started_event(view)]
        while True:
            view.signals = {plan.nodes[view.node].signal: signal[1]} if signal else {}
            if session.in_transaction():
                await session.commit()  # hold no connection (nor transaction) during the step
            await events.publish(self.redis, order.order_id, outbox)
            started = utcnow()
            step = await self._renewing(order_pk, token, take_step(plan, view, executor))
            changes = _changes(step, view, utcnow(), self.settings.lease_s)
            _measure(plan, step, started, changes["updated_at"])
            signal_id = signal[0] if signal and step.consumed_signal else None
            if not await self._commit(order_pk, token, step, changes, signal_id, started):
                return False
            outbox = [_finished_event(step, changes["state"])]
            if not isinstance(step.outcome, Advance):
                break
            _move(view, step, changes)
            outbox.append(_started_event(view))
            signal = await self._signal_for(session, order_pk, plan, view.node)
        await events.publish(self.redis, order.order_id, outbox)
        if changes.get("wake_at") is not None:
            await enqueue_activation(self.redis, order_pk, changes["wake_at"])
        return True

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

    async def _context_for(self, session: AsyncSession, plan: Plan) -> tuple[dict, dict, dict]:
        """API calls, variables and opened credentials, re-read at most once a second, and at
        once when the plan names an API call the cached ones lack (it was just created)."""
        now = time.monotonic()
        known = self._context[1] if self._context else {}
        if self._context is None or self._context[0] < now or not plan.api_calls <= known.keys():
            specs = await all_specs(session=session)
            wanted = {spec.credential for spec in specs.values() if spec.credential}
            rows = await session.exec(select(Credential).where(col(Credential.id).in_(wanted)))
            credentials = {row.id: CredentialValue(row.type, row.meta, self.box.open(row.secret))
                           for row in rows}
            self._context = (now + CONTEXT_TTL_S, specs, await as_scope(session=session),
                             credentials)
        return self._context[1], self._context[2], self._context[3]

    async def _commit(self, order_pk: int, token: str, step: Step, changes: dict[str, Any],
                      signal_id: int | None, started: datetime) -> bool:
        """Step run, vars, node and state in one transaction; False if the order was taken
        from us (cancelled, or the lease was lost): the step run is still recorded."""
        step_run = {"order_pk": order_pk, "node": step.node, "attempt": step.attempt,
                    "status": step.status, "started_at": started,
                    "finished_at": changes["updated_at"], "request": step.request,
                    "response": step.response, "saved": step.saved or None, "error": step.error}
        return await self.writer.write(lambda session: checkpoints.checkpoint(
            session, order_pk, token, changes, step_run, signal_id))


def _due(order: Order, signal: tuple[int, Any] | None) -> bool:
    """Whether this activation has work (a sweeper or a duplicate job may come early)."""
    if order.state in (OrderState.pending, OrderState.running) or signal is not None:
        return True
    return order.wake_at is None or order.wake_at <= utcnow()


def _view(order: Order, variables: dict[str, Any]) -> OrderView:
    resuming = order.state in (OrderState.sleeping, OrderState.waiting)
    return OrderView(
        order_id=order.order_id, blueprint=order.blueprint_id, version=order.version,
        input=order.input, vars=dict(order.vars), node=order.current_node or "",
        attempt=order.attempt, error=order.error if order.failed_node else None,
        wake_at=order.wake_at if resuming else None,
        variables=variables, test=order.test)


def _changes(step: Step, view: OrderView, now: datetime, lease_s: float) -> dict[str, Any]:
    """The order's new columns after a step."""
    outcome = step.outcome
    changes: dict[str, Any] = {"updated_at": now, "lease_until": now + timedelta(seconds=lease_s)}
    if step.saved:
        changes["vars"] = view.vars | step.saved
    if step.status == "failed":
        changes["failed_node"], changes["error"] = step.node, step.error
    if isinstance(outcome, Advance):
        changes |= {"state": OrderState.running, "current_node": outcome.node, "attempt": 1,
                    "wake_at": None}
    else:  # the activation ends with this commit
        changes |= {"lease_owner": None, "lease_until": None}
    if isinstance(outcome, Sleep):
        changes |= {"state": OrderState.sleeping, "wake_at": outcome.until}
    elif isinstance(outcome, Wait):
        changes |= {"state": OrderState.waiting, "wake_at": outcome.until}
    elif isinstance(outcome, Retry):
        changes |= {"state": OrderState.retrying, "attempt": view.attempt + 1,
                    "wake_at": now + timedelta(seconds=outcome.delay_s)}
    elif isinstance(outcome, Finish):
        changes |= {"state": outcome.status, "result": outcome.result, "wake_at": None}
        if outcome.error is not None:
            changes["error"] = outcome.error
    return changes


def _move(view: OrderView, step: Step, changes: dict[str, Any]) -> None:
    view.node, view.attempt, view.wake_at = changes["current_node"], 1, None
    view.vars = changes.get("vars", view.vars)
    if step.status == "failed":
        view.error = step.error


def _measure(plan: Plan, step: Step, started: datetime, finished: datetime) -> None:
    node_type = plan.nodes[step.node].type
    metrics.STEPS.labels(node_type, step.status).inc()
    metrics.STEP_SECONDS.labels(node_type).observe((finished - started).total_seconds())
    if not isinstance(step.outcome, Advance):
        metrics.ACTIVATIONS.labels(type(step.outcome).__name__.lower()).inc()


def _started_event(view: OrderView) -> dict[str, Any]:
    return {"type": "step_started", "node": view.node, "attempt": view.attempt}


def _finished_event(step: Step, state: str) -> dict[str, Any]:
    return {"type": "step_finished", "node": step.node, "attempt": step.attempt,
            "status": step.status, "state": state, "error": step.error}
