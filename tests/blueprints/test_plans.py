"""One lookup and one cache for a blueprint version: read once, its input validator compiled
once, never served stale for a blueprint deleted and created again under the same id."""

from __future__ import annotations

import pytest

from backend.blueprints import plans
from backend.core.errors import Conflict, NotFound
from tests.blueprints.factories import blueprint, chain, end, start


def doc(blueprint_id: str, end_id: str, schema: dict) -> dict:
    return blueprint([start(), end(end_id)], chain("start", end_id), blueprint_id,
                     input_schema=schema)


async def publish(client, body: dict) -> None:
    assert (await client.post("/api/blueprints", json=body)).status_code == 201
    assert (await client.post(f"/api/blueprints/{body['id']}/publish")).status_code == 201


async def test_a_version_is_read_once_and_its_validator_compiled_once(client, sessions):
    await publish(client, doc("cached", "done", {"properties": {"e": {"format": "email"}}}))
    async with sessions() as session:
        first = await plans.latest(session, "cached")
        assert await plans.latest(session, "cached") is first
        assert await plans.pinned(session, "cached", 1) is first
    assert first.input_validator() is first.input_validator()
    assert not first.input_validator().is_valid({"e": "not an email"})
    assert (first.number, first.plan.start) == (1, "start")


async def test_a_blueprint_created_again_is_not_served_from_the_cache(client, sessions):
    await publish(client, doc("again", "old_end", {"required": ["a"]}))
    async with sessions() as session:
        assert (await plans.latest(session, "again")).plan.nodes.keys() >= {"old_end"}
    assert (await client.delete("/api/blueprints/again")).status_code == 204
    plans._cache.clear()  # as another process would be: it never saw the delete
    async with sessions() as session:
        with pytest.raises(NotFound):
            await plans.latest(session, "again")
    await publish(client, doc("again", "new_end", {"required": ["b"]}))
    async with sessions() as session:
        fresh = await plans.latest(session, "again")
    assert "new_end" in fresh.plan.nodes
    assert fresh.plan.doc.input_schema == {"required": ["b"]}


async def test_a_stale_entry_from_before_a_re_creation_is_replaced(client, sessions):
    """The process that cached version 1 never hears of the delete (another web process did it)."""
    await publish(client, doc("other", "old_end", {}))
    async with sessions() as session:
        stale = await plans.latest(session, "other")
    assert (await client.delete("/api/blueprints/other")).status_code == 204
    plans._remember(stale)  # this process still holds it
    await publish(client, doc("other", "new_end", {}))
    async with sessions() as session:
        assert "new_end" in (await plans.latest(session, "other")).plan.nodes


async def test_unknown_and_unpublished_blueprints(client, sessions):
    created = await client.post("/api/blueprints", json=doc("draft-only", "done", {}))
    assert created.status_code == 201
    async with sessions() as session:
        with pytest.raises(NotFound):
            await plans.latest(session, "nope")
        with pytest.raises(Conflict):
            await plans.latest(session, "draft-only")
        with pytest.raises(NotFound):
            await plans.pinned(session, "draft-only", 1)
