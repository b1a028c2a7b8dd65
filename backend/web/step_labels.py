"""Steps named as the person who drew them named them: a node's `label` where it has one,
from the blueprint version an order ran (a test order: the draft it carries). Pages show the
label first and the id second, small (`templates/_step.html`); a step without a label by
its id alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.core.errors import Conflict, NotFound

Labels = dict[str, str]  # node id → label, for the nodes that have one


def labels_of(definition: Mapping[str, Any] | None) -> Labels:
    return {node["id"]: str(node["label"]).strip() for node in (definition or {}).get("nodes", [])
            if isinstance(node, dict) and node.get("id") and str(node.get("label") or "").strip()}


async def version_labels(session: AsyncSession, blueprint: str, version: int | None) -> Labels:
    """The labels of a published version (None: the latest one), from the plans' cache."""
    try:
        found = await (plans.latest(session, blueprint) if version is None
                       else plans.pinned(session, blueprint, version))
    except (NotFound, Conflict):
        return {}
    return labels_of(found.definition)


async def labels_by_version(session: AsyncSession,
                            keys: Iterable[tuple[str, int | None]]) -> dict[tuple[str, int | None], Labels]:
    """Each (blueprint, version) once, however many rows share it."""
    return {key: await version_labels(session, *key) for key in dict.fromkeys(keys)}


async def order_labels(session: AsyncSession, orders: Iterable[Any]) -> dict[str, Labels]:
    """By order id: the labels of the version it pins, or of the draft a test order carries."""
    rows = list(orders)
    versions = await labels_by_version(session, [(row.blueprint_id, row.version) for row in rows
                                                 if row.version is not None])
    return {row.order_id: (versions[(row.blueprint_id, row.version)] if row.version is not None
                           else labels_of(getattr(row, "definition", None)))
            for row in rows}
