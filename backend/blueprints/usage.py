"""Which blueprints (draft or any published version) refer to an API call."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints.models import Blueprint, BlueprintVersion


async def blueprints_using(*, session: AsyncSession, key: str, value: str) -> list[str]:
    """Ids of blueprints with a node whose `key` field equals `value`."""
    found: set[str] = set()
    for blueprint in await session.exec(select(Blueprint)):
        if _uses(blueprint.draft, key, value):
            found.add(blueprint.id)
    for version in await session.exec(select(BlueprintVersion)):
        if _uses(version.definition, key, value):
            found.add(version.blueprint_id)
    return sorted(found)


def _uses(definition: dict, key: str, value: str) -> bool:
    return any(node.get(key) == value for node in definition.get("nodes", []))
