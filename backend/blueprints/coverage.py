"""Branch coverage: how many real and test orders of a version took each step and each edge,
counted from their step runs (an order counts once per step and per edge, across its reruns).

The step runs are read a page of orders at a time, only the columns the paths need (a
condition's response for the edge it took; no API responses), from the newest MAX_ORDERS
orders of the version and MAX_TEST_RUNS test runs: memory stays that of one page.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.engine import paths
from backend.engine.format import BlueprintDoc
from backend.engine.walker import Plan
from backend.orders.models import Order, StepRun

MAX_ORDERS = 100_000
MAX_TEST_RUNS = 1_000
PAGE = 500


class Counts(BaseModel):
    real: int = 0
    test: int = 0


class EdgeCoverage(Counts):
    source: str
    target: str
    kind: str


class Coverage(BaseModel):
    blueprint: str
    version: int | Literal["draft"]
    orders: Counts = Field(description="orders of this version with at least one step run")
    nodes: dict[str, Counts]
    edges: list[EdgeCoverage]
    never_taken: list[EdgeCoverage] = Field(description="edges no order took")
    limited: bool = Field(description=f"more than {MAX_ORDERS:,} orders: the newest counted")


async def coverage(*, session: AsyncSession, blueprint_id: str,
                   version: int | Literal["draft"] | None) -> Coverage:
    """`version` None: the latest published; `draft`: the current draft. Real orders are
    those on the version; test orders, the test runs of a draft whose logic was exactly
    the version's (its layout aside)."""
    plan, number = await _plan(session, blueprint_id, version)
    real = select(Order.id).where(Order.blueprint_id == blueprint_id, Order.version == number) \
        .order_by(col(Order.id).desc()).limit(MAX_ORDERS + 1) if number != "draft" else None
    ids = [] if real is None else [pk or 0 for pk in await session.exec(real)]
    limited = len(ids) > MAX_ORDERS
    ids = ids[:MAX_ORDERS] + await _test_runs(session, blueprint_id, plan)
    conditions = [node.id for node in plan.nodes.values() if node.type == "condition"]
    response = sa.case((col(StepRun.node).in_(conditions), StepRun.response), else_=None) \
        if conditions else sa.null()
    tally = _Tally(plan)
    for first in range(0, len(ids), PAGE):  # a page of orders per query (bound parameters)
        query = (select(StepRun.order_pk, Order.test, StepRun.node, StepRun.lane,  # type: ignore[call-overload]
                        StepRun.status, response)
                 .join(Order, Order.id == StepRun.order_pk)  # type: ignore[arg-type]
                 .where(col(StepRun.order_pk).in_(ids[first:first + PAGE]))
                 .order_by(col(StepRun.order_pk), col(StepRun.id)))
        current: tuple[int, bool] | None = None
        records: list[dict[str, Any]] = []
        for order_pk, test, node, lane, status, answer in await session.exec(query):  # type: ignore[call-overload]
            if current is not None and current[0] != order_pk:
                tally.add(current[1], records)
                records = []
            current = (order_pk, test)
            records.append({"node": node, "lane": lane, "status": status, "response": answer})
        if current is not None:
            tally.add(current[1], records)
    return tally.result(blueprint_id, number, limited)


async def _test_runs(session: AsyncSession, blueprint_id: str, plan: Plan) -> list[int]:
    """The newest MAX_TEST_RUNS test runs of the blueprint whose draft had `plan`'s logic."""
    logic = _logic(plan.doc.model_dump(mode="json"))
    rows = await session.exec(
        select(Order.id, Order.definition).where(
            Order.blueprint_id == blueprint_id, col(Order.version).is_(None),
            col(Order.parent_pk).is_(None))
        .order_by(col(Order.id).desc()).limit(MAX_TEST_RUNS))
    return [order_pk for order_pk, definition in rows  # type: ignore[misc]
            if definition is not None and _logic(dict(definition)) == logic]


def _logic(definition: dict[str, Any]) -> Any:
    """What a blueprint does: its nodes and edges as the walker reads them."""
    doc = BlueprintDoc.model_validate(definition)
    return ([node.model_dump(mode="json", exclude_defaults=True) for node in doc.nodes],
            [edge.model_dump(mode="json", exclude_defaults=True) for edge in doc.edges])


async def _plan(session: AsyncSession, blueprint_id: str,
                version: int | Literal["draft"] | None) -> tuple[Plan, int | Literal["draft"]]:
    if version == "draft":
        return await plans.draft(session, blueprint_id), "draft"
    found = await plans.latest(session, blueprint_id) if version is None else \
        await plans.pinned(session, blueprint_id, version)
    assert found.number is not None
    return found.plan, found.number


class _Tally:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.orders = Counts()
        self.nodes = {node: Counts() for node in plan.nodes}
        self.edges = {(edge.source, edge.target, edge.kind): Counts() for edge in plan.doc.edges}

    def add(self, test: bool, records: list[dict[str, Any]]) -> None:
        field = "test" if test else "real"
        walked = paths.visits(records)
        _bump(self.orders, field)
        for node in {visit.node for visit in walked} & self.nodes.keys():
            _bump(self.nodes[node], field)
        for edge in paths.edges(self.plan, walked) & self.edges.keys():
            _bump(self.edges[edge], field)

    def result(self, blueprint_id: str, version: int | Literal["draft"],
               limited: bool) -> Coverage:
        edges = [EdgeCoverage(source=source, target=target, kind=kind, **counts.model_dump())
                 for (source, target, kind), counts in self.edges.items()]
        return Coverage(blueprint=blueprint_id, version=version, orders=self.orders,
                        nodes=self.nodes, edges=edges, limited=limited,
                        never_taken=[edge for edge in edges if not edge.real + edge.test])


def _bump(counts: Counts, field: str) -> None:
    setattr(counts, field, getattr(counts, field) + 1)
