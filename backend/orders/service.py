"""Orders: create (API, webhook, test run), read, list, cancel, signal, wake, reprocess."""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.blueprints.service import check, get_row
from backend.core import events, metrics
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.queue import DEFER_HORIZON, Wake, enqueue_activation, enqueue_activations
from backend.core.writer import writer_for
from backend.engine.format import BlueprintDoc
from backend.orders import concurrency
from backend.orders.children import wake_parent
from backend.orders.models import (
    ACTIVE_STATES,
    FINAL_STATES,
    HOLDING_STATES,
    AuditEntry,
    Order,
    OrderState,
    Signal,
    StepRun,
)
from backend.orders.schemas import (
    CancelAnswer,
    CancelRequest,
    ChildCounts,
    OrderFilter,
    OrderPublic,
    OrderSummary,
    ReprocessAnswer,
    ReprocessRequest,
    RerunRequest,
    StepRunPublic,
)

MAX_LIST = 200


def summary(order: Order) -> OrderSummary:
    return OrderSummary.model_validate(order.model_dump() | {"blueprint": order.blueprint_id,
                                                            "parent": order.parent_id})


def public(order: Order, steps: list[StepRun], children: dict[str, ChildCounts] | None = None,
           audit: list[AuditEntry] | None = None) -> OrderPublic:
    return OrderPublic.model_validate(order.model_dump() | {
        "blueprint": order.blueprint_id, "parent": order.parent_id, "children": children or {},
        "steps": [StepRunPublic.model_validate(step, from_attributes=True) for step in steps],
        "audit": [entry.model_dump() for entry in audit or []]})


def check_input(version: plans.Version, value: dict[str, Any]) -> None:
    errors = [{"path": "/" + "/".join(map(str, error.absolute_path)), "code": "input_schema",
               "message": error.message}
              for error in version.input_validator().iter_errors(value)]
    if errors:
        raise Invalid("The input does not match the blueprint's input_schema.", errors)


_ORDERS = Order.__table__  # type: ignore[attr-defined]
_ORDER_COLUMNS = [column for column in _ORDERS.c if column.key != "id"]
_INSERT_ORDER = _ORDERS.insert().returning(_ORDERS.c.id)


async def _insert(session: AsyncSession, redis: ArqRedis | None, order: Order) -> Order:
    if session.in_transaction():
        await session.commit()  # the reads before it: a SQLite write starts a fresh transaction
    values = {column.key: getattr(order, column.key) for column in _ORDER_COLUMNS}
    try:  # Core in the group writer: concurrent webhooks share a commit (see core.writer)
        order.id, order.state = await writer_for(session.bind).write(
            lambda connection: concurrency.insert(connection, _INSERT_ORDER, values))
    except IntegrityError as exc:
        raise Conflict(f"An order with id {order.order_id!r} already exists.") from exc
    metrics.ORDERS_CREATED.labels(order.blueprint_id, str(order.test).lower()).inc()
    if order.state == OrderState.queued:
        order.wake_at = None  # its key's slot frees up first
    elif redis is not None and order.dispatch == "immediate":
        await enqueue_activation(redis, order.id or 0, order.wake_at)
    return order


def _new_order(order_id: str, version: plans.Version, payload: dict[str, Any], dispatch: str,
               **flags: Any) -> Order:
    check_input(version, payload)
    now = utcnow()
    limit = version.plan.doc.concurrency
    if limit is not None and not flags.get("test"):
        flags |= {"concurrency_key": concurrency.key_of(version.blueprint, limit, payload),
                  "concurrency_limit": limit.limit}
    return Order(order_id=order_id, blueprint_id=version.blueprint, version=version.number,
                 input=payload, current_node=version.plan.start, dispatch=dispatch,
                 wake_at=now, created_at=now, updated_at=now, **flags)


async def create_order(*, session: AsyncSession, redis: ArqRedis | None, settings: Settings,
                       order_id: str, blueprint_id: str, payload: dict[str, Any],
                       published: plans.Version | None = None) -> Order:
    """A new order on the blueprint's latest version, dispatched now or by the batch loop."""
    version = published or await plans.latest(session, blueprint_id)
    dispatch = version.plan.doc.dispatch or settings.dispatch_mode
    order = _new_order(order_id, version, payload, dispatch)
    return await _insert(session, redis, order)


async def create_test_order(*, session: AsyncSession, redis: ArqRedis | None, blueprint_id: str,
                            payload: dict[str, Any], mock: bool) -> Order:
    """A test order on the draft (which must be valid); sleeps are fast-forwarded."""
    draft = (await get_row(session=session, blueprint_id=blueprint_id)).draft
    report = await check(session=session, doc=BlueprintDoc.model_validate(draft))
    if not report.valid:
        raise Invalid("The draft has validation errors; fix them before a test run.",
                      [error.model_dump(mode="json") for error in report.errors])
    order = _new_order(f"test-{uuid.uuid4().hex[:12]}", plans.Version.of(blueprint_id, None, draft),
                       payload, "immediate", test=True, mock=mock, definition=draft)
    return await _insert(session, redis, order)


async def get_order_row(session: AsyncSession, order_id: str) -> Order:
    order = (await session.exec(select(Order).where(Order.order_id == order_id))).first()
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.")
    return order


async def get_order(*, session: AsyncSession, order_id: str) -> OrderPublic:
    """An order with its step runs, oldest first."""
    order = await get_order_row(session, order_id)
    steps = list(await session.exec(select(StepRun).where(StepRun.order_pk == order.id)
                                    .order_by(col(StepRun.id))))
    return public(order, steps, await _child_counts(session, order.id or 0, steps),
                  await audit_of(session, order.id or 0))


async def _child_counts(session: AsyncSession, order_pk: int,
                        steps: list[StepRun]) -> dict[str, ChildCounts]:
    """Per node that started children: their states counted (one indexed query)."""
    totals = {step.node: step.request["items"] for step in steps
              if step.request and isinstance(step.request.get("items"), int)}
    if not totals:
        return {}
    found: dict[str, dict[str, int]] = {node: {} for node in totals}
    for node, state, count in await session.exec(
            select(Order.parent_node, Order.state, func.count()).where(
                Order.parent_pk == order_pk).group_by(Order.parent_node, Order.state)):
        found.setdefault(node or "", {})[state] = count
    return {node: ChildCounts(
        total=totals.get(node, sum(counts.values())), completed=counts.get("completed", 0),
        failed=counts.get("failed", 0), cancelled=counts.get("cancelled", 0),
        active=sum(n for state, n in counts.items() if state in ACTIVE_STATES))
        for node, counts in found.items()}


def _filtered(query: Any, where: OrderFilter) -> Any:
    # a parent's children are test runs when it is one: `parent` alone shows them either way
    test = None if where.parent is not None and "test" not in where.model_fields_set else where.test
    for column, value in ((Order.state, where.state), (Order.blueprint_id, where.blueprint),
                          (Order.version, where.version), (Order.failed_node, where.failed_node),
                          (Order.test, test)):
        if value is not None:
            query = query.where(column == value)
    if where.parent is not None:
        query = query.where(col(Order.parent_id) == where.parent)
    if where.order_id:
        query = query.where(col(Order.order_id).startswith(where.order_id, autoescape=True))
    return query


def encode_cursor(order_pk: int) -> str:
    return base64.urlsafe_b64encode(str(order_pk).encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("The cursor is not one this API gave out.") from exc


async def list_orders(*, session: AsyncSession, where: OrderFilter, limit: int = 50,
                      cursor: str | None = None) -> tuple[list[Order], str | None]:
    """Newest first, keyset-paginated on the primary key."""
    limit = max(1, min(limit, MAX_LIST))
    query = _filtered(select(Order), where).order_by(col(Order.id).desc()).limit(limit + 1)
    if cursor:
        query = query.where(col(Order.id) < decode_cursor(cursor))
    rows = list(await session.exec(query))
    more = len(rows) > limit
    return rows[:limit], encode_cursor(rows[limit - 1].id or 0) if more else None


async def cancel_order(*, session: AsyncSession, redis: ArqRedis | None, order_id: str) -> Order:
    """Stop an order before its next step, and its active children with it."""
    order = await get_order_row(session, order_id)
    if order.state in FINAL_STATES:
        raise Conflict(f"Order {order_id!r} is already {order.state}.")
    await _cancel(session, redis, [(order.id or 0, order.order_id, order.parent_pk)])
    await session.refresh(order)
    return order


async def _cancel(session: AsyncSession, redis: ArqRedis | None,
                  chosen: list[tuple[int, str, int | None]]) -> None:
    """Cancel these orders (pk, id, parent pk) and, down the tree, their active children;
    parents outside the cancelled set are woken (a child of theirs just ended)."""
    now = utcnow()
    cancelled = list(chosen)
    level = [pk for pk, _, _ in chosen]
    while level:
        children = list(await session.exec(select(Order.id, Order.order_id, Order.parent_pk).where(
            col(Order.parent_pk).in_(level), col(Order.state).in_(ACTIVE_STATES))))
        cancelled += [(pk or 0, order_id, parent) for pk, order_id, parent in children]
        level = [pk or 0 for pk, _, _ in children]
    pks = [pk for pk, _, _ in cancelled]
    keys: set[str] = set()
    for start in range(0, len(pks), 500):
        chunk = pks[start:start + 500]
        keys |= {key for key in await session.exec(select(Order.concurrency_key).where(
            col(Order.id).in_(chunk), col(Order.concurrency_key).is_not(None))) if key}
        await session.exec(update(Order).where(  # type: ignore[call-overload]
            col(Order.id).in_(chunk), col(Order.state).in_(ACTIVE_STATES),
        ).values(state=OrderState.cancelled, wake_at=None, updated_at=now))
    await session.commit()
    await concurrency.admit_queued(session.bind, redis, keys)  # their slots are free
    if redis is None:
        return
    for _, order_id, _ in cancelled:
        await events.publish(redis, order_id, [{"type": "order_state", "state": "cancelled"}])
    for parent in {parent for _, _, parent in cancelled} - set(pks) - {None}:
        await wake_parent(redis, parent)


def _active_selection(query: Any, request: CancelRequest) -> Any:
    query = query.where(col(Order.state).in_(ACTIVE_STATES))
    if request.order_ids is not None:
        return query.where(col(Order.order_id).in_(request.order_ids))
    return _filtered(query, request.filter or OrderFilter())


async def cancel_orders(*, session: AsyncSession, redis: ArqRedis | None,
                        request: CancelRequest) -> CancelAnswer:
    """Cancel every active order the request picks (by ids or filter); a dry run counts."""
    count = (await session.exec(_active_selection(select(func.count()), request))).one()
    preview = await session.exec(_active_selection(select(Order.order_id), request)
                                 .order_by(col(Order.id)).limit(100))
    answer = CancelAnswer(dry_run=request.dry_run, count=count, order_ids=list(preview))
    if request.dry_run or not count:
        return answer
    chosen = list(await session.exec(_active_selection(
        select(Order.id, Order.order_id, Order.parent_pk), request)))
    await _cancel(session, redis, [(pk or 0, order_id, parent) for pk, order_id, parent in chosen])
    return answer


async def send_signal(*, session: AsyncSession, redis: ArqRedis | None, order_id: str, name: str,
                      payload: Any) -> Order:
    """Store a signal; a waiting order resumes (one not there yet finds it when it arrives)."""
    order = await get_order_row(session, order_id)
    if order.state in FINAL_STATES:
        raise Conflict(f"Order {order_id!r} is {order.state}; it takes no signals.")
    session.add(Signal(order_pk=order.id or 0, name=name, payload=payload))
    await session.commit()
    # waiting, or inside a parallel with a branch waiting while another sleeps or retries
    if redis is not None and order.state not in (OrderState.pending, OrderState.running,
                                                 OrderState.queued):
        await enqueue_activation(redis, order.id or 0, None, lease_until=utcnow())
    return order


async def wake_now(*, session: AsyncSession, redis: ArqRedis | None, order_id: str) -> Order:
    """End a sleep (or a retry delay) now."""
    order = await get_order_row(session, order_id)
    if order.state not in (OrderState.sleeping, OrderState.retrying):
        raise Conflict(f"Order {order_id!r} is {order.state}, not sleeping.")
    order.wake_at = order.updated_at = utcnow()
    await session.commit()
    if redis is not None:
        await enqueue_activation(redis, order.id or 0, order.wake_at)
    return order


def _selection(query: Any, request: ReprocessRequest) -> Any:
    """`query` narrowed to the finished orders a reprocess request picks."""
    query = query.where(col(Order.state).in_(FINAL_STATES))
    if request.order_ids is not None:
        return query.where(col(Order.order_id).in_(request.order_ids))
    return _filtered(query, request.filter or OrderFilter())


async def _selected(session: AsyncSession, request: ReprocessRequest) -> list[Order]:
    return list(await session.exec(_selection(select(Order), request).order_by(col(Order.id))))


async def _start_of(session: AsyncSession, blueprint_id: str, version: int | None,
                    definition: dict | None) -> str:
    """The start node of a version, or of a test run's draft."""
    return (await plans.of_order(session, blueprint_id=blueprint_id, number=version,
                                 definition=definition)).plan.start


async def _preview(session: AsyncSession, request: ReprocessRequest) -> ReprocessAnswer:
    """A dry run counted by the database, without loading the orders."""
    steps: Counter[str] = Counter()
    failed_first = request.from_ == "failed"
    published = _selection(select(Order.blueprint_id, Order.version, Order.failed_node,
                                  func.count()), request).where(col(Order.version).is_not(None))
    for blueprint_id, version, failed_node, count in await session.exec(
            published.group_by(Order.blueprint_id, Order.version, Order.failed_node)):
        node = failed_node if failed_first and failed_node else await _start_of(
            session, blueprint_id, version, None)
        steps[node] += count
    tests = _selection(select(Order.blueprint_id, Order.definition, Order.failed_node), request)
    for blueprint_id, definition, failed_node in await session.exec(
            tests.where(col(Order.version).is_(None))):
        steps[failed_node if failed_first and failed_node else await _start_of(
            session, blueprint_id, None, definition)] += 1
    ids = await session.exec(_selection(select(Order.order_id), request)
                             .order_by(col(Order.id)).limit(100))
    return ReprocessAnswer(dry_run=True, count=sum(steps.values()), order_ids=list(ids),
                           steps=dict(steps))


async def _restart_node(session: AsyncSession, order: Order, from_: str) -> str:
    if from_ == "failed" and order.failed_node:
        return order.failed_node
    return await _start_of(session, order.blueprint_id, order.version, order.definition)


async def reprocess(*, session: AsyncSession, redis: ArqRedis | None,
                    request: ReprocessRequest, actor: str = "API") -> ReprocessAnswer:
    """Reset finished orders to run again, from the start or from their failed step."""
    if request.dry_run:
        return await _preview(session, request)
    orders = await _selected(session, request)
    restart = {order.order_id: await _restart_node(session, order, request.from_)
               for order in orders}
    answer = ReprocessAnswer(dry_run=False, count=len(orders),
                             order_ids=[order.order_id for order in orders[:100]],
                             steps=dict(Counter(restart.values())))
    now = utcnow()
    for order in orders:
        session.add(_reset(order, restart[order.order_id], request.from_, now, actor))
    await _requeue(session, redis, orders, now)
    return answer


async def rerun(*, session: AsyncSession, redis: ArqRedis | None, order_id: str,
                request: RerunRequest, actor: str) -> Order:
    """Run one finished order again, from its failed step (saved values kept) or from the
    start, with its input replaced if the request gives one (checked against its version's
    input_schema); the change is on the order's timeline (who, when, old and new input)."""
    order = await get_order_row(session, order_id)
    if order.state not in FINAL_STATES:
        raise Conflict(f"Order {order_id!r} is {order.state}; only a finished order can run again.")
    changed = request.input is not None and request.input != order.input
    if changed:
        version = await plans.of_order(session, blueprint_id=order.blueprint_id,
                                       number=order.version, definition=order.definition)
        check_input(version, request.input or {})
    now = utcnow()
    entry = _reset(order, await _restart_node(session, order, request.from_), request.from_,
                   now, request.by or actor)
    if changed:
        assert entry.detail is not None and request.input is not None
        entry.detail["input"] = {"old": order.input, "new": request.input}
        order.input = request.input
    session.add(entry)
    await _requeue(session, redis, [order], now)
    return order


def _reset(order: Order, node: str, from_: str, now: datetime, actor: str) -> AuditEntry:
    """Put a finished order back at `node`; what was done, for its timeline."""
    from_failed = from_ == "failed" and order.failed_node is not None
    entry = AuditEntry(order_pk=order.id or 0, at=now, actor=actor, kind="reprocessed",
                       detail={"from": "failed" if from_failed else "start", "node": node,
                               "state": order.state, "failed_node": order.failed_node})
    order.current_node, order.attempt = node, 1
    # an order of a concurrency key waits for its slot again
    order.state = OrderState.queued if order.concurrency_key else OrderState.pending
    order.wake_at = None if order.concurrency_key else now
    order.updated_at = now
    order.result = order.lease_owner = order.lease_until = order.branches = None
    order.error, order.failed_node, order.entered_at = None, None, now
    if not from_failed:
        order.vars = {}
    return entry


async def _requeue(session: AsyncSession, redis: ArqRedis | None, orders: list[Order],
                   now: datetime) -> None:
    """Commit the reset orders, admit the queued ones' keys, enqueue the rest."""
    if not orders:
        return
    await session.commit()
    await concurrency.admit_queued(session.bind, redis, {
        order.concurrency_key for order in orders if order.concurrency_key})
    if redis is not None:
        await enqueue_activations(redis, [
            Wake(order.id or 0, now) for order in orders if order.state == OrderState.pending
            and (order.dispatch == "immediate" or order.test)])


async def audit_of(session: AsyncSession, order_pk: int) -> list[AuditEntry]:
    return list(await session.exec(select(AuditEntry).where(AuditEntry.order_pk == order_pk)
                                   .order_by(col(AuditEntry.id))))


async def due_orders(*, session: AsyncSession, settings: Settings,
                     limit: int = 1000) -> list[tuple[int, datetime | None, datetime | None]]:
    """Active orders due before the next sweep, or whose worker died: the sweeper's work, as
    (pk, wake_at, lease_until). Enqueuing is idempotent (deterministic job ids), so orders
    that have their job already are harmless to include."""
    now = utcnow()  # queued orders wait for a slot, not a time (`concurrency.admit`)
    horizon = now + timedelta(seconds=settings.sweep_interval_s * 1.5)
    lease_free = col(Order.lease_until).is_(None) | (col(Order.lease_until) < now)
    due = col(Order.wake_at) <= min(horizon, now + DEFER_HORIZON)
    waiting_signalled = (col(Order.state) == OrderState.waiting) & col(Order.id).in_(
        select(Signal.order_pk).where(col(Signal.consumed_at).is_(None)))
    not_batch_pending = ~((col(Order.dispatch) == "batch") & (col(Order.state) == OrderState.pending))
    orphaned = (col(Order.state) == OrderState.running) | (col(Order.lease_until) < now)
    query = select(Order.id, Order.wake_at, Order.lease_until).where(
        col(Order.state).in_(HOLDING_STATES), lease_free, due | waiting_signalled | orphaned,
        not_batch_pending).limit(limit)
    return [(pk or 0, wake_at, lease_until) for pk, wake_at, lease_until in await session.exec(query)]
