"""In-flight impact: the orders still running on published versions, grouped by version,
step and state, and for each group whether its step is in the draft unchanged (the same
settings and the same edges out), changed, or missing. The editor shows it before a
publish: those orders stay on their version unless they are migrated (`migrate`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.blueprints.models import Blueprint
from backend.core.errors import NotFound
from backend.engine.format import BlueprintDoc
from backend.inflight.schemas import InFlight, InFlightGroup, Presence
from backend.orders.models import ACTIVE_STATES, Order


def step_shape(doc: BlueprintDoc, node_id: str) -> tuple[dict[str, Any], list[tuple[str, str]]] | None:
    """What makes a step behave as it does: its settings (the label aside) and its edges out."""
    node = next((node for node in doc.nodes if node.id == node_id), None)
    if node is None:
        return None
    out = sorted((edge.kind, edge.target) for edge in doc.edges if edge.source == node_id)
    return node.model_dump(exclude={"label"}, exclude_defaults=True), out


def presence(old: BlueprintDoc, new: BlueprintDoc, node_id: str) -> Presence:
    shape = step_shape(new, node_id)
    if shape is None:
        return "missing"
    return "unchanged" if shape == step_shape(old, node_id) else "changed"


async def in_flight(*, session: AsyncSession, blueprint_id: str) -> InFlight:
    row = await session.get(Blueprint, blueprint_id)
    if row is None:
        raise NotFound(f"No blueprint with id {blueprint_id!r}.")
    draft = BlueprintDoc.model_validate(row.draft)
    counted = await session.exec(
        select(Order.version, Order.current_node, Order.state, func.count())
        .where(Order.blueprint_id == blueprint_id, col(Order.test).is_(False),
               col(Order.version).is_not(None), col(Order.state).in_(sorted(ACTIVE_STATES)))
        .group_by(col(Order.version), col(Order.current_node), col(Order.state)))
    groups = []
    for version, node, state, count in counted:
        plan = (await plans.pinned(session, blueprint_id, version or 0)).plan
        step = plan.nodes.get(node or "")
        groups.append(InFlightGroup(
            version=version or 0, node=node or "", type=step.type if step else None, state=state,
            count=count, in_draft=presence(plan.doc, draft, node) if node else "missing"))
    groups.sort(key=lambda group: (group.version, group.node, group.state))
    return InFlight(blueprint=blueprint_id, total=sum(group.count for group in groups),
                    groups=groups)
