"""What the order pages need beyond the orders service: the list's filter as typed in a form
(blanks ignored), links that keep it, and the timeline's view of an order (its steps with
the blueprint's node names and types, the steps not taken, the signal it waits for, and the
blueprint the page's graph draws)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.core.errors import NotFound
from backend.engine.catalogue import NODE_TYPE_SPECS, catalogue_json
from backend.orders import service
from backend.orders.models import FINAL_STATES, Order, OrderState
from backend.orders.schemas import ChildCounts, OrderFilter, OrderPublic, StepRunPublic
from backend.orders.stats import STATES

FILTER_FIELDS = ("state", "blueprint", "version", "failed_node", "order_id", "parent", "test")
TEST_CHOICES = {"": False, "only": True, "all": None}
PAGE_SIZE = 50


@dataclass
class ListQuery:
    where: OrderFilter
    cursor: str | None = None
    errors: list[str] = field(default_factory=list)

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string's fields (blanks left out), with `changes` applied."""
        values = self.where.model_dump()
        values["test"] = {True: "only", None: "all"}.get(values["test"], "")
        values["cursor"] = self.cursor
        values.update(changes)
        return {key: str(value) for key, value in values.items()
                if value not in (None, "") and key in (*FILTER_FIELDS, "cursor")}

    def url(self, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return "/orders" + (f"?{query}" if query else "")

    @property
    def filtered(self) -> bool:
        return bool(self.params(state=None, cursor=None))


def list_query(params: Any) -> ListQuery:
    """The list's filter from a query string or form; bad fields are dropped and reported."""
    raw = {key: str(params.get(key, "")).strip() for key in FILTER_FIELDS}
    values: dict[str, Any] = {key: value for key, value in raw.items() if value and key != "test"}
    # a parent's children are test runs when it is one: with `parent`, both unless chosen
    values["test"] = None if raw["parent"] and not raw["test"] else TEST_CHOICES.get(raw["test"], False)
    if values.get("state") not in (None, *STATES):
        values.pop("state")
    errors = []
    try:
        where = OrderFilter.model_validate(values)
    except ValidationError as exc:
        bad = {str(error["loc"][0]) for error in exc.errors()}
        errors = [f"Ignored {name}: {raw[name]!r}" for name in sorted(bad)]
        where = OrderFilter.model_validate({k: v for k, v in values.items() if k not in bad})
    cursor = str(params.get("cursor", "")).strip() or None
    return ListQuery(where=where, cursor=cursor, errors=errors)


# -- the timeline ------------------------------------------------------------------------------


TYPE_NAMES = {spec.type: spec.title for spec in NODE_TYPE_SPECS}
FAILED_SHOWN = 10


@dataclass
class ChildrenView:
    """A for_each/sub_blueprint step's children: how far they are, and the failed ones."""

    node: str
    counts: ChildCounts
    failed: list[tuple[int, str, str]]  # (index, order id, error message), the first few
    list_url: str

    @property
    def final(self) -> int:
        return self.counts.completed + self.failed_count

    @property
    def failed_count(self) -> int:
        return self.counts.failed + self.counts.cancelled

    @property
    def percent(self) -> int:
        return int(100 * self.final / self.counts.total) if self.counts.total else 100


@dataclass
class StepView:
    step: StepRunPublic
    type: str
    label: str
    index: int

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, self.type)


@dataclass
class Timeline:
    order: OrderPublic
    nodes: dict[str, dict[str, Any]]
    steps: list[StepView]
    skipped: list[str]
    waiting_for: str | None
    final: bool
    open_step: int | None = None
    definition: dict[str, Any] = field(default_factory=dict)
    children: dict[str, ChildrenView] = field(default_factory=dict)
    lanes: list[tuple[str, str, str]] = field(default_factory=list)  # (lane, node, state)

    def label(self, node: str | None) -> str | None:
        """The step's label in the version the order ran, if it has one."""
        found = self.nodes.get(node or "", {}).get("label")
        return str(found).strip() or None if found else None

    @property
    def entries(self) -> list[tuple[str, Any]]:
        """The step runs and what people did to the order (a rerun, its input changed), in
        time order: ("step", StepView) and ("audit", AuditPublic)."""
        merged: list[tuple[Any, int, str, Any]] = [
            (view.step.started_at, 1, "step", view) for view in self.steps]
        merged += [(entry.at, 0, "audit", entry) for entry in self.order.audit]
        return [(kind, item) for _, _, kind, item in sorted(merged, key=lambda e: e[:2])]

    @property
    def lanes_ahead(self) -> list[tuple[str, str, str]]:
        """Live branches whose position no step run shows yet (a branch about to step)."""
        last = {view.step.lane or "": view.step.node for view in self.steps}
        return [(lane, node, state) for lane, node, state in self.lanes
                if state != "arrived" and last.get(lane) != node]

    def children_at(self, index: int) -> ChildrenView | None:
        """The children's progress, shown on the latest step run of their node."""
        node = self.steps[index].step.node
        later = any(view.step.node == node for view in self.steps[index + 1:])
        return None if later else self.children.get(node)

    @property
    def next_node(self) -> str | None:
        """The step the order goes on with, when no step run shows it yet."""
        order = self.order
        if self.final or order.state == OrderState.pending or not order.current_node:
            return None
        last = self.steps[-1].step if self.steps else None
        return None if last and last.node == order.current_node else order.current_node

    @property
    def latest(self) -> dict[str, str]:
        """Each reached node's latest step-run status; the step it goes on with, the order's."""
        found = {view.step.node: view.step.status for view in self.steps}
        if self.next_node:
            found[self.next_node] = self.order.state
        for _, node, state in self.lanes:  # every live branch's position
            found[node] = found.get(node, state) if state == "arrived" else state
        return found


async def _definition(session: AsyncSession, order_id: str) -> dict[str, Any]:
    row = (await session.exec(select(Order.definition, Order.blueprint_id, Order.version)
                              .where(Order.order_id == order_id))).first()
    if row is None:
        return {}
    definition, blueprint_id, version = row
    try:
        found = await plans.of_order(session, blueprint_id=blueprint_id, number=version,
                                     definition=definition)
    except NotFound:
        return {}
    return dict(found.definition)


def _node_index(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in definition.get("nodes", []) if "id" in node}


async def _children(session: AsyncSession, order: OrderPublic) -> dict[str, ChildrenView]:
    """The service's counts per node, with the first failed children of each."""
    if not order.children:
        return {}
    pk = (await session.exec(select(Order.id).where(Order.order_id == order.order_id))).one()
    failed: dict[str, list[tuple[int, str, str]]] = {node: [] for node in order.children}
    for node, index, child_id, error in await session.exec(
            select(Order.parent_node, Order.child_index, Order.order_id, Order.error)
            .where(Order.parent_pk == pk, col(Order.state).in_(["failed", "cancelled"]))
            .order_by(col(Order.child_index)).limit(FAILED_SHOWN * len(order.children))):
        if node in failed and len(failed[node]) < FAILED_SHOWN:
            failed[node].append((index or 0, child_id, (error or {}).get("message", "cancelled")))
    url = "/orders?" + urlencode({"parent": order.order_id})
    return {node: ChildrenView(node, counts, failed[node], url)
            for node, counts in order.children.items()}


def _lanes(order: OrderPublic) -> list[tuple[str, str, str]]:
    """Inside a parallel: each branch that is not itself forked, as (lane, node, state)."""
    lanes = (order.branches or {}).items()
    return [(token, lane["node"], lane["state"]) for token, lane in lanes
            if lane.get("state") != "forked"]


async def timeline(*, session: AsyncSession, order_id: str) -> Timeline:
    """The order, every attempt of every step, and what the blueprint says about them."""
    order = await service.get_order(session=session, order_id=order_id)
    definition = await _definition(session, order_id)
    nodes = _node_index(definition)
    steps = [StepView(step, nodes.get(step.node, {}).get("type", "step"),
                      nodes.get(step.node, {}).get("label") or step.node, index)
             for index, step in enumerate(order.steps)]
    final = order.state in FINAL_STATES
    visited = {step.node for step in order.steps}
    skipped = [node_id for node_id in nodes if node_id not in visited] if final else []
    lanes = _lanes(order)
    waiting = next((node for _, node, state in lanes if state == "waiting"
                    and nodes.get(node, {}).get("type") == "wait_signal"), None)
    if order.state == OrderState.waiting and waiting is None:
        waiting = order.current_node
    failed = [view.index for view in steps if view.step.status == "failed"]
    return Timeline(order=order, nodes=nodes, steps=steps, skipped=skipped,
                    waiting_for=nodes.get(waiting or "", {}).get("signal"), final=final,
                    open_step=failed[-1] if failed else None, definition=definition,
                    children=await _children(session, order), lanes=lanes)


def graph_boot(definition: dict[str, Any], api_calls: list[Any]) -> dict[str, Any]:
    """What the order page's graph draws: the blueprint version's (or test run's draft's)
    nodes, edges and layout, and the names of the API calls its nodes use."""
    used = {node.get("api_call") for node in definition.get("nodes", [])}
    shape = {key: definition.get(key) for key in ("id", "name", "nodes", "edges", "layout")}
    return {"blueprint": shape, "catalogue": catalogue_json(),
            "api_calls": [{"id": c.id, "name": c.name, "method": c.method}
                          for c in api_calls if c.id in used]}
