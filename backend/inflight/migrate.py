"""Move resting orders (sleeping or waiting) from one published version of their blueprint
to another, at a mapped step, the way an operator patches a long-running flow.

An order moves only if it can go on there without surprise:
- it rests (sleeping or waiting) outside a parallel, and no worker holds it;
- the step it maps to exists in the new version, is of the same type and is not inside a
  parallel (its branches' positions would not carry over);
- an order waiting for child orders keeps its step id (its children are found by it);
- its input passes the new version's input_schema;
- every var the new version reads from that step on is among those it saved, on every path
  (the validator's dataflow analysis, started at the step with the order's saved vars).
Refused orders are listed with the reason and left exactly as they were. Each move is one
conditional UPDATE (still at that version and step, still resting, no live lease) committed
with an entry on the order's timeline, so a worker taking the order at the same moment
either sees it moved or keeps it where it was. A sleep keeps its wake-up time and a wait
its deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jsonschema.exceptions import best_match  # type: ignore[import-untyped]
from sqlalchemy import Update, and_, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.blueprints.flow_rules import a_step
from backend.blueprints.graph import Catalog, missing_downstream
from backend.blueprints.service import load_catalog
from backend.core.db import utcnow
from backend.core.errors import Invalid
from backend.engine.structure import analyse
from backend.engine.walker import Plan
from backend.inflight.schemas import (
    MAX_MIGRATED,
    MigrateAnswer,
    MigrateRequest,
    MigrateSummary,
    Moved,
    Refused,
)
from backend.orders.models import ACTIVE_STATES, AuditEntry, Order, OrderState

RESTING = (OrderState.sleeping, OrderState.waiting)
CHILD_STEPS = frozenset({"for_each", "sub_blueprint"})
COMMIT_EVERY = 500
_ORDERS = Order.__table__  # type: ignore[attr-defined]


@dataclass
class _Target:
    """The version orders move to, with what each check needs, computed once."""

    version: plans.Version
    catalog: Catalog
    inside_parallel: frozenset[str]
    missing: dict[tuple[str, frozenset[str]], list[str]]

    @classmethod
    def of(cls, version: plans.Version, catalog: Catalog) -> _Target:
        blocks = analyse(version.plan.doc).blocks.values()
        inside = frozenset(node for block in blocks for branch in block.branches.values()
                           for node in branch)
        return cls(version, catalog, inside, {})

    def vars_missing(self, node_id: str, saved: frozenset[str]) -> list[str]:
        key = (node_id, saved)
        if key not in self.missing:
            per_step = missing_downstream(self.version.plan.doc, self.catalog, node_id, saved)
            self.missing[key] = sorted({name for names in (per_step or {}).values()
                                        for name in names})
        return self.missing[key]


def _a(node_type: str) -> str:
    """"a sleep step", "an API call step": mid-sentence."""
    words = a_step(node_type)
    return words[0].lower() + words[1:]


def _check_map(request: MigrateRequest, old: Plan, new: Plan) -> None:
    errors = [{"path": f"/node_map/{source}", "code": "unknown_step",
               "message": f"Version {request.from_version} has no step {source!r}."}
              for source in request.node_map if source not in old.nodes]
    errors += [{"path": f"/node_map/{source}", "code": "unknown_step",
                "message": f"Version {request.to_version} has no step {target!r}."}
               for source, target in request.node_map.items() if target not in new.nodes]
    if errors:
        raise Invalid("The node_map names steps the versions do not have.", errors)


def _refusal(order: Order, old: Plan, target: _Target, to_node: str) -> Refused | None:
    """Why this order cannot move to `to_node`, or None when it can."""
    node, new, number = order.current_node, target.version.plan, target.version.number

    def refused(code: str, reason: str, missing: list[str] | None = None) -> Refused:
        return Refused(order_id=order.order_id, node=node, code=code, reason=reason,  # type: ignore[arg-type]
                       missing=missing or [])

    if order.state not in RESTING or node is None:
        return refused("not_resting", f"It is {order.state}: only a sleeping or waiting order "
                                      "moves; try again once it rests.")
    if order.branches:
        return refused("in_parallel", "It rests inside a parallel; its branches cannot move.")
    if to_node not in new.nodes:
        return refused("no_step", f"Version {number} has no step {to_node!r}: map {node!r} to "
                                  "one of its steps in node_map.")
    old_type, new_type = old.nodes[node].type, new.nodes[to_node].type
    if old_type != new_type:
        return refused("other_type", f"Step {to_node!r} of version {number} is "
                                     f"{_a(new_type)}, not {_a(old_type)}.")
    if to_node in target.inside_parallel:
        return refused("inside_parallel", f"Step {to_node!r} is inside a parallel of version "
                                          f"{number}: an order cannot join a branch midway.")
    if old_type in CHILD_STEPS and to_node != node:
        return refused("other_type", "It waits for its child orders, which know their step by "
                                     f"its id: it can move only to a step {node!r}.")
    error = best_match(target.version.input_validator().iter_errors(order.input))
    if error is not None:
        return refused("input_schema", "Its input does not pass the input_schema of version "
                                       f"{number}: {error.message}")
    missing = target.vars_missing(to_node, frozenset(order.vars))
    if missing:
        names = ", ".join(f"vars.{name}" for name in missing)
        return refused("missing_vars", f"Version {number} reads {names} from step {to_node!r} "
                                       "on, which this order has not saved.", missing)
    return None


def _move(order: Order, request: MigrateRequest, to_node: str, now: datetime) -> Update:
    """The conditional UPDATE: only if the order is still where it was checked."""
    lease_free = or_(_ORDERS.c.lease_until.is_(None), _ORDERS.c.lease_until < now)
    return update(_ORDERS).where(and_(
        _ORDERS.c.id == order.id, _ORDERS.c.version == request.from_version,
        _ORDERS.c.current_node == order.current_node, _ORDERS.c.state == order.state,
        lease_free)).values(
        version=request.to_version, current_node=to_node, updated_at=now)


async def migrate(*, session: AsyncSession, blueprint_id: str, request: MigrateRequest,
                  actor: str = "API") -> MigrateAnswer:
    if request.from_version == request.to_version:
        raise Invalid("from_version and to_version are the same version.",
                      [{"path": "/to_version", "code": "same_version",
                        "message": "Choose another version to move the orders to."}])
    old = (await plans.pinned(session, blueprint_id, request.from_version)).plan
    new_version = await plans.pinned(session, blueprint_id, request.to_version)
    _check_map(request, old, new_version.plan)
    target = _Target.of(new_version, await load_catalog(session=session))
    query = select(Order).where(
        Order.blueprint_id == blueprint_id, Order.version == request.from_version,
        col(Order.test).is_(False), col(Order.state).in_(sorted(ACTIVE_STATES)))
    if request.order_ids is not None:
        query = query.where(col(Order.order_id).in_(request.order_ids))
    if request.steps is not None:
        query = query.where(col(Order.current_node).in_(request.steps))
    orders = list(await session.exec(query.order_by(col(Order.id)).limit(MAX_MIGRATED + 1)))
    limited = len(orders) > MAX_MIGRATED
    moved: list[Moved] = []
    refused: list[Refused] = []
    for order in orders[:MAX_MIGRATED]:
        node = order.current_node or ""
        to_node = request.node_map.get(node, node)
        refusal = _refusal(order, old, target, to_node)
        if refusal is not None:
            refused.append(refusal)
            continue
        if not request.dry_run:
            now = utcnow()
            result = await session.exec(_move(order, request, to_node, now))  # type: ignore[call-overload]
            if result.rowcount != 1:
                refused.append(Refused(order_id=order.order_id, node=node, code="busy",
                                       reason="A worker took it while it was checked (or it "
                                              "moved on): try again."))
                continue
            session.add(AuditEntry(order_pk=order.id or 0, at=now, actor=request.by or actor,
                                   kind="migrated", detail={
                                       "from_version": request.from_version,
                                       "to_version": request.to_version, "from_node": node,
                                       "to_node": to_node, "state": order.state}))
            if len(moved) % COMMIT_EVERY == COMMIT_EVERY - 1:
                await session.commit()
        moved.append(Moved(order_id=order.order_id, from_node=node, to_node=to_node))
    await session.commit()
    return MigrateAnswer(dry_run=request.dry_run, from_version=request.from_version,
                         to_version=request.to_version, moved=moved, refused=refused,
                         summary=MigrateSummary(moved=len(moved), refused=len(refused)),
                         limited=limited)
