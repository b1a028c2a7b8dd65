"""The replay lab: past orders' recorded inputs, responses and signals run through another
version of their blueprint (the draft, or a published one) without calling anything, and
compared with what they did.

`replay` runs in the worker (the `replay` arq job): it reads, in pages of PAGE orders, the
orders, their step runs, signals, reruns and children, walks each order with the real walker
(`engine.replay`) on `recording.ReplayPorts`, and compares the paths (`engine.paths`). It
writes nothing. Bounded: at most MAX_ORDERS orders, MAX_STEPS steps each, every expression
under its own limits, and BUDGET_S seconds in all (the orders left are counted `skipped`).
`request_replay` is the web side: it checks the request, queues the job and waits for it (a web
process without a queue, which has no worker either, replays itself, within the same bounds).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.service import all_specs
from backend.blueprints import plans
from backend.core.db import utcnow
from backend.core.errors import NotFound, Unavailable
from backend.core.queue import REPLAY, WAKE_CHANNEL
from backend.engine import paths
from backend.engine.replay import Walked, walk
from backend.engine.walker import ChildResult, OrderView, Plan
from backend.orders.executor import Executor
from backend.orders.models import FINAL_STATES, AuditEntry, Order, OrderState, Signal, StepRun
from backend.orders.service import _filtered
from backend.replay.recording import Recording, ReplayPorts, effective, record_of, recorded_calls
from backend.replay.schemas import ReplayAnswer, ReplayRequest
from backend.variables.service import as_scope

PAGE = 50
BUDGET_S = 30.0
WAIT_S = BUDGET_S + 30  # the web side waits this long for a worker's answer
MAX_VALUE_CHARS = 4_000
CHILD_NODES = frozenset({"for_each", "sub_blueprint"})
log = logging.getLogger(__name__)


async def target_plan(session: AsyncSession, blueprint_id: str, version: str | int) -> Plan:
    """The draft or published version to replay on (404 for either unknown)."""
    if version == "draft":
        return await plans.draft(session, blueprint_id)
    return (await plans.pinned(session, blueprint_id, int(version))).plan


def _selected(blueprint_id: str, request: ReplayRequest) -> Any:
    where = request.filter.model_copy(update={"blueprint": blueprint_id})
    query = _filtered(select(Order), where)
    if where.state is None:
        query = query.where(col(Order.state).in_([OrderState.completed, OrderState.failed]))
    return query.where(col(Order.parent_pk).is_(None)).order_by(
        col(Order.id).desc()).limit(request.limit)


async def run_replay(sessions: async_sessionmaker[AsyncSession], blueprint_id: str,
                 request: ReplayRequest) -> ReplayAnswer:
    started = time.monotonic()
    async with sessions() as session:
        target = await target_plan(session, blueprint_id, request.version)
        executor = Executor(None, await all_specs(session=session), {}, mock=True)
        variables = await as_scope(session=session)
        orders = list(await session.exec(_selected(blueprint_id, request)))
    version = None if request.version == "draft" else int(request.version)
    entries: list[dict[str, Any]] = []
    skipped = 0
    for first in range(0, len(orders), PAGE):
        if time.monotonic() - started > BUDGET_S:
            skipped = len(orders) - first
            break
        async with sessions() as session:
            recordings = await _recordings(session, orders[first:first + PAGE], target)
            for recording in recordings:
                before = (await plans.of_order(
                    session, blueprint_id=blueprint_id, number=recording.order.version,
                    definition=recording.order.definition)).plan
                entries.append(await _replay_one(recording, before, target, executor,
                                                 variables, version))
    return _answer(blueprint_id, request.version, entries, skipped, started)


async def _recordings(session: AsyncSession, orders: list[Order], target: Plan) -> list[Recording]:
    """The histories of one page of orders, in four queries."""
    pks = [order.id or 0 for order in orders]
    runs: dict[int, list[StepRun]] = defaultdict(list)
    for run in await session.exec(select(StepRun).where(col(StepRun.order_pk).in_(pks))
                                  .order_by(col(StepRun.id))):
        runs[run.order_pk].append(run)
    audit: dict[int, list[AuditEntry]] = defaultdict(list)
    for entry in await session.exec(select(AuditEntry).where(col(AuditEntry.order_pk).in_(pks))):
        audit[entry.order_pk].append(entry)
    signals: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for signal in await session.exec(select(Signal).where(col(Signal.order_pk).in_(pks))
                                     .order_by(col(Signal.id))):
        signals[signal.order_pk][signal.name].append(signal.payload)
    children: dict[int, dict[str, list[ChildResult]]] = defaultdict(lambda: defaultdict(list))
    if any(node.type in CHILD_NODES for node in target.nodes.values()):
        for child in await session.exec(select(Order).where(col(Order.parent_pk).in_(pks))):
            children[child.parent_pk or 0][child.parent_node or ""].append(ChildResult(
                child.child_index or 0, child.order_id, child.state, child.result, child.error))
    return [Recording(order, [record_of(run) for run in effective(runs[pk], audit[pk])],
                      dict(signals[pk]), dict(children[pk]))
            for order, pk in zip(orders, pks, strict=True)]


async def _replay_one(recording: Recording, before: Plan, target: Plan, executor: Executor,
                      variables: dict[str, Any], version: int | None) -> dict[str, Any]:
    order = recording.order
    moment = utcnow()
    ports = ReplayPorts(executor, recorded_calls(before, recording.records), recording.children,
                        clock=lambda: moment)
    view = OrderView(order_id=order.order_id, blueprint=order.blueprint_id, version=version,
                     input=order.input, vars={}, node=target.start, variables=variables)
    try:
        walked = await walk(target, view, ports, signals=recording.signals,
                                   waits_end=order.state in FINAL_STATES)
    except Exception as exc:  # a bug must not cost the other orders their answers
        log.exception("replaying order %s failed", order.order_id)
        walked = Walked("failed", error={"code": "replay_crashed",
                                                "message": f"{type(exc).__name__}: {exc}"[:500]})
    was, now = paths.visits(recording.records), paths.visits(walked.records)
    difference = paths.first_difference(before, was, target, now)
    final = order.state in FINAL_STATES
    changed = difference is not None or (final and (order.state, order.result) != (
        walked.state, walked.result))
    return {
        "order_id": order.order_id,
        "before": {"state": order.state, "result": _capped(order.result),
                   "error": _error(order.error), "path": [visit.node for visit in was]},
        "after": {"state": walked.state, "result": _capped(walked.result),
                  "error": _error(walked.error), "path": [visit.node for visit in now]},
        "changed": changed, "unrecorded": ports.unrecorded,
        "first_difference": _capped(difference) if difference else None,
    }


def _error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    return {key: error.get(key) for key in ("code", "message", "node")} if error else None


def _capped(value: Any) -> Any:
    """`value`, or where it is too long for an answer, each too long part as a preview."""
    text = json.dumps(value, default=str)
    if len(text) <= MAX_VALUE_CHARS:
        return value
    if isinstance(value, dict):
        return {key: _capped(item) for key, item in value.items()}
    return {"preview": text[:MAX_VALUE_CHARS] + "…", "truncated": True}


def _answer(blueprint_id: str, version: str | int, entries: list[dict[str, Any]], skipped: int,
            started: float) -> ReplayAnswer:
    nodes: dict[str, dict[str, int]] = defaultdict(lambda: {"changed": 0, "unrecorded": 0})
    for entry in entries:
        if entry["first_difference"]:
            nodes[entry["first_difference"]["node"]]["changed"] += 1
        for node in entry["unrecorded"]:
            nodes[node]["unrecorded"] += 1
    changed = sum(entry["changed"] for entry in entries)
    return ReplayAnswer.model_validate({
        "blueprint": blueprint_id, "version": version, "orders": entries, "nodes": dict(nodes),
        "summary": {"total": len(entries), "same": len(entries) - changed, "changed": changed,
                    "unrecorded": sum(bool(entry["unrecorded"]) for entry in entries),
                    "skipped": skipped},
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1)})


# -- the web side ----------------------------------------------------------------------------


async def request_replay(*, session: AsyncSession, redis: ArqRedis | None, blueprint_id: str,
                         request: ReplayRequest) -> ReplayAnswer:
    """Check what can be checked here (the blueprint and version exist: 404), then have a
    worker replay and wait for its answer (503 if none comes)."""
    await target_plan(session, blueprint_id, request.version)
    if session.in_transaction():
        await session.commit()  # hold no connection while the worker works
    if redis is None:  # no queue, so no worker: replay here
        return await run_replay(async_sessionmaker(session.bind, class_=AsyncSession,
                                                   expire_on_commit=False), blueprint_id, request)
    job = await redis.enqueue_job(REPLAY, blueprint_id, request.model_dump(mode="json"),
                                  _job_id=f"replay:{uuid.uuid4().hex}")
    assert job is not None  # the id is new
    await redis.publish(WAKE_CHANNEL, "")
    try:
        answer = await job.result(timeout=WAIT_S, poll_delay=0.05)
    except TimeoutError as exc:
        await redis.delete(f"arq:job:{job.job_id}")  # a worker that comes later skips it
        raise Unavailable(f"No worker answered the replay within {WAIT_S:.0f} s; is "
                          "`waybill worker` running?") from exc
    except Exception as exc:  # the job itself failed (arq hands back what it raised)
        raise Unavailable(f"The replay failed in the worker: {exc}"[:500]) from exc
    if isinstance(answer, dict) and "problem" in answer:
        raise NotFound(answer["problem"])
    return ReplayAnswer.model_validate(answer)


async def replay_job(ctx: dict[str, Any], blueprint_id: str, request: dict[str, Any]) -> dict:
    """The arq job: the answer as JSON; a problem as `{"problem": ...}` (arq's result of a
    failed job would be an exception, which a JSON job serializer cannot carry)."""
    try:
        answer = await run_replay(ctx["runner"].sessions, blueprint_id,
                              ReplayRequest.model_validate(request))
    except NotFound as exc:  # deleted meanwhile
        return {"problem": exc.detail}
    return answer.model_dump(mode="json")
