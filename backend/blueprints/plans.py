"""A blueprint version made ready to run: the one lookup, and the one cache, for every reader
(order intake and webhooks, the runner, reprocess, the order pages).

Published versions are immutable, so a cached `Version` never goes stale, with one exception:
a blueprint without real orders can be deleted and created again under the same id, and its
versions are numbered from 1 again. `latest` therefore compares the blueprint row's
`created_at` (read in the same query as its latest version number) with the cached entry's.
A version that orders pin cannot be in that situation: a blueprint with real orders cannot be
deleted. A test run's draft is carried by its order and never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints.models import Blueprint, BlueprintVersion
from backend.core import writer
from backend.core.errors import Conflict, NotFound
from backend.engine.walker import Plan

CACHE_SIZE = 1024


@dataclass
class Version:
    """A blueprint version (or a test run's draft: `number` None) and what is derived from it."""

    blueprint: str
    number: int | None
    definition: dict[str, Any]
    plan: Plan
    created: datetime | None = None  # the blueprint row's, to tell a re-created blueprint apart
    _validator: Draft202012Validator | None = field(default=None, repr=False)

    @classmethod
    def of(cls, blueprint: str, number: int | None, definition: dict[str, Any],
           created: datetime | None = None) -> Version:
        return cls(blueprint, number, definition, Plan.from_definition(definition), created)

    def input_validator(self) -> Draft202012Validator:
        """The input_schema's validator, `format` checked too (email, date-time, uri: the
        `format-nongpl` extra), compiled once. A schema that is not a JSON Schema (saved
        before the API refused those) refuses orders instead of failing halfway."""
        if self._validator is None:
            schema = self.plan.doc.input_schema
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                where = "/" + "/".join(map(str, exc.absolute_path))
                raise Conflict("The blueprint's input_schema is not a valid JSON Schema; fix it "
                               "and publish again.", [{"path": where, "code": "input_schema",
                                                       "message": exc.message}]) from exc
            self._validator = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        return self._validator


_cache: OrderedDict[tuple[str, int], Version] = OrderedDict()


def _remember(version: Version) -> Version:
    assert version.number is not None
    _cache[(version.blueprint, version.number)] = version
    _cache.move_to_end((version.blueprint, version.number))
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return version


def _cached(blueprint_id: str, number: int) -> Version | None:
    hit = _cache.get((blueprint_id, number))
    if hit is not None:
        _cache.move_to_end((blueprint_id, number))
    return hit


async def _load(session: AsyncSession, blueprint_id: str, number: int) -> Version | None:
    row = (await session.exec(
        select(BlueprintVersion.definition, Blueprint.created_at)
        .join(Blueprint, Blueprint.id == BlueprintVersion.blueprint_id)  # type: ignore[arg-type]
        .where(BlueprintVersion.blueprint_id == blueprint_id,
               BlueprintVersion.version == number))).first()
    if row is None:
        return None
    return _remember(Version.of(blueprint_id, number, row[0], row[1]))


async def pinned(session: AsyncSession, blueprint_id: str, number: int, *,
                 fresh: bool = False) -> Version:
    """A published version that orders pin (`fresh`: read again, not from the cache)."""
    found = (None if fresh else _cached(blueprint_id, number)) or await _load(
        session, blueprint_id, number)
    if found is None:
        raise NotFound(f"Blueprint {blueprint_id!r} has no version {number}.")
    return found


_BLUEPRINTS = Blueprint.__table__  # type: ignore[attr-defined]
_LATEST = sa.select(_BLUEPRINTS.c.latest_version, _BLUEPRINTS.c.created_at).where(
    _BLUEPRINTS.c.id == sa.bindparam("b_id"))


async def latest(session: AsyncSession, blueprint_id: str) -> Version:
    """The latest published version: 404 for an unknown blueprint, 409 if none is published."""
    # every webhook asks: Core, and outside a transaction in one thread hop (core.writer)
    if session.in_transaction():
        connection = await session.connection()
        row = (await connection.execute(_LATEST, {"b_id": blueprint_id})).first()
    else:
        row = await writer.read(session.bind, lambda connection: connection.execute(
            _LATEST, {"b_id": blueprint_id}).first())
    if row is None:
        raise NotFound(f"No blueprint with id {blueprint_id!r}.")
    number, created = row
    if number is None:
        raise Conflict(f"Blueprint {blueprint_id!r} has no published version yet.")
    hit = _cached(blueprint_id, number)
    if hit is not None and hit.created == created:
        return hit
    return await pinned(session, blueprint_id, number, fresh=True)


async def of_order(session: AsyncSession, *, blueprint_id: str, number: int | None,
                   definition: dict[str, Any] | None) -> Version:
    """What an order runs on: its own draft (a test run) or the version it pins."""
    if definition is not None:
        return Version.of(blueprint_id, None, definition)
    assert number is not None, "an order has a draft or a pinned version"
    return await pinned(session, blueprint_id, number)


async def draft(session: AsyncSession, blueprint_id: str) -> Plan:
    """The current draft, made ready to walk: 404 for an unknown blueprint, 409 while the
    draft has problems (a walk needs what a publish needs: a start, edges that lead on)."""
    row = await session.get(Blueprint, blueprint_id)
    if row is None:
        raise NotFound(f"No blueprint with id {blueprint_id!r}.")
    if row.errors:
        raise Conflict(f"The draft of {blueprint_id!r} has {len(row.errors)} problem"
                       f"{'' if len(row.errors) == 1 else 's'}: fix "
                       f"{'it' if len(row.errors) == 1 else 'them'} first.", row.errors[:20])
    return Plan.from_definition(row.draft)


def forget(blueprint_id: str) -> None:
    """Drop a deleted blueprint's versions from this process's cache."""
    for key in [key for key in _cache if key[0] == blueprint_id]:
        del _cache[key]
