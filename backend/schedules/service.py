"""Schedules: CRUD, each checked (cron, zone, input templates) before anything is written,
and what a tick is (its order id, the input it renders)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.blueprints.models import Blueprint
from backend.core.db import insert_new, utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.engine import expressions
from backend.orders.service import check_input
from backend.schedules import cron
from backend.schedules.models import Schedule
from backend.schedules.schemas import NEXT_RUNS, ScheduleCreate, ScheduleFields, SchedulePublic
from backend.variables.service import as_scope

SCOPE = frozenset({"schedule", "variables"})
TICK_FORMAT = "%Y%m%dT%H%M%SZ"


def order_id_for(blueprint_id: str, name: str, tick: datetime) -> str:
    """A tick's order id: `{blueprint}.{name}.{tick in UTC}`, the same on every worker."""
    return f"{blueprint_id}.{name}.{tick.astimezone(UTC).strftime(TICK_FORMAT)}"


def render_input(*, blueprint_id: str, name: str, zone_name: str, template: dict[str, Any],
                 tick: datetime, variables: dict[str, Any]) -> dict[str, Any]:
    """The order input of one tick (an ExpressionError if a template fails)."""
    scope = {"schedule": {"name": name, "blueprint": blueprint_id,
                          "tick": tick.astimezone(cron.zone(zone_name)).isoformat()},
             "variables": variables}
    rendered: dict[str, Any] = expressions.render(template, scope)
    return rendered


def public(row: Schedule, now: datetime | None = None) -> SchedulePublic:
    runs: list[datetime] = []
    if row.enabled:
        try:
            runs = cron.upcoming(row.cron, row.timezone, now or utcnow(), NEXT_RUNS)
        except cron.ScheduleTimeError:
            runs = []  # stored before this croniter refused it: the ticker says so in last_error
    return SchedulePublic(
        blueprint=row.blueprint_id, name=row.name, cron=row.cron, timezone=row.timezone,
        input=row.input, enabled=row.enabled, next_runs=[run.isoformat() for run in runs],
        next_tick=row.next_tick, last_tick=row.last_tick, last_order_id=row.last_order_id,
        last_error=row.last_error, created_at=row.created_at, updated_at=row.updated_at)


def _sources(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _sources(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _sources(item, f"{where}.{index}")
    elif isinstance(value, str):
        yield where, value


def template_problems(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Input templates that do not parse or read names a schedule does not have."""
    for where, source in _sources(template, "input"):
        error = expressions.parse_error(source, template=True)
        if error:
            yield {"field": where, "code": "bad_template", "message": error}
            continue
        unknown = expressions.undeclared_names(source, template=True) - SCOPE
        if unknown:
            yield {"field": where, "code": "unknown_name", "message":
                   f"unknown name(s): {', '.join(sorted(unknown))} (a schedule's input sees "
                   "`schedule` and `variables`)"}


def time_problems(fields: ScheduleFields) -> list[dict[str, Any]]:
    problems = []
    try:
        cron.zone(fields.timezone)
    except cron.ScheduleTimeError as exc:
        problems.append({"field": "timezone", "code": "unknown_timezone", "message": str(exc)})
    message = cron.cron_problem(fields.cron)
    if message:
        problems.append({"field": "cron", "code": "bad_cron", "message": message})
    return problems


async def _trial(session: AsyncSession, blueprint_id: str, name: str, fields: ScheduleFields,
                 now: datetime) -> list[dict[str, Any]]:
    """The next tick's input, rendered with today's variables and checked against the latest
    published input_schema (none published yet: each tick checks it)."""
    try:
        tick = cron.next_after(fields.cron, fields.timezone, now)
    except cron.ScheduleTimeError as exc:
        return [{"field": "cron", "code": "bad_cron", "message": str(exc)}]
    try:
        payload = render_input(blueprint_id=blueprint_id, name=name, zone_name=fields.timezone,
                               template=fields.input, tick=tick,
                               variables=await as_scope(session=session))
    except expressions.ExpressionError as exc:
        return [{"field": "input", "code": "render_failed", "message": str(exc)}]
    try:
        check_input(await plans.latest(session, blueprint_id), payload)
    except Invalid as exc:
        return [{"field": "input", **error} for error in exc.errors]
    except (Conflict, NotFound):
        return []
    return []


async def _check(session: AsyncSession, blueprint_id: str, name: str, fields: ScheduleFields,
                 now: datetime) -> None:
    problems = time_problems(fields) + list(template_problems(fields.input))
    if not problems and fields.enabled:
        problems = await _trial(session, blueprint_id, name, fields, now)
    if problems:
        raise Invalid(f"Schedule {name!r} has {len(problems)} problem(s).", problems)


async def _blueprint(session: AsyncSession, blueprint_id: str) -> None:
    if await session.get(Blueprint, blueprint_id) is None:
        raise NotFound(f"No blueprint with id {blueprint_id!r}.")


async def list_schedules(*, session: AsyncSession, blueprint_id: str) -> list[Schedule]:
    """A blueprint's schedules, by name."""
    await _blueprint(session, blueprint_id)
    return list(await session.exec(select(Schedule).where(Schedule.blueprint_id == blueprint_id)
                                   .order_by(col(Schedule.name))))


async def get_schedule(*, session: AsyncSession, blueprint_id: str, name: str) -> Schedule:
    """One schedule of a blueprint."""
    await _blueprint(session, blueprint_id)
    row = (await session.exec(select(Schedule).where(Schedule.blueprint_id == blueprint_id,
                                                     Schedule.name == name))).first()
    if row is None:
        raise NotFound(f"Blueprint {blueprint_id!r} has no schedule named {name!r}.")
    return row


async def create_schedule(*, session: AsyncSession, blueprint_id: str, body: ScheduleCreate,
                          now: datetime | None = None) -> Schedule:
    """Check, then store a new schedule; its first tick is the first after `now`."""
    now = now or utcnow()
    await _blueprint(session, blueprint_id)
    await _check(session, blueprint_id, body.name, body, now)
    expression = cron.normalised(body.cron)
    row = Schedule(blueprint_id=blueprint_id, name=body.name, cron=expression,
                   timezone=body.timezone, input=body.input, enabled=body.enabled,
                   next_tick=cron.next_after(expression, body.timezone, now) if body.enabled
                   else None, created_at=now, updated_at=now)
    await insert_new(session, row, f"A schedule named {body.name!r} on {blueprint_id!r}")
    return row


def _next_tick(row: Schedule, fields: ScheduleFields, now: datetime) -> datetime | None:
    """Off: none. Switched on, or its times changed: the first tick after now (the ticks
    while it was off are not made). Otherwise the tick already due stays."""
    if not fields.enabled:
        return None
    same = row.cron == cron.normalised(fields.cron) and row.timezone == fields.timezone
    if row.enabled and same and row.next_tick is not None:
        return row.next_tick
    return cron.next_after(fields.cron, fields.timezone, now)


async def update_schedule(*, session: AsyncSession, blueprint_id: str, name: str,
                          body: ScheduleFields, now: datetime | None = None) -> Schedule:
    """Replace a schedule's cron, zone, input and on/off after checking them."""
    now = now or utcnow()
    if getattr(body, "name", None) not in (None, name):
        raise Invalid("The body's name must match the path.", [
            {"field": "name", "code": "name_mismatch", "message": "name differs from the URL"}])
    row = await get_schedule(session=session, blueprint_id=blueprint_id, name=name)
    await _check(session, blueprint_id, name, body, now)
    next_tick = _next_tick(row, body, now)
    if next_tick != row.next_tick:
        row.next_tick = next_tick
    row.cron, row.timezone = cron.normalised(body.cron), body.timezone
    row.input, row.enabled, row.updated_at = body.input, body.enabled, now
    await session.commit()
    return row


async def set_enabled(*, session: AsyncSession, blueprint_id: str, name: str, enabled: bool,
                      now: datetime | None = None) -> Schedule:
    """Switch a schedule on (checked as a save is) or off (always works: nothing to check)."""
    row = await get_schedule(session=session, blueprint_id=blueprint_id, name=name)
    if not enabled:
        row.enabled, row.next_tick, row.updated_at = False, None, now or utcnow()
        await session.commit()
        return row
    fields = ScheduleFields(cron=row.cron, timezone=row.timezone, input=row.input,
                            enabled=enabled)
    return await update_schedule(session=session, blueprint_id=blueprint_id, name=name,
                                 body=fields, now=now)


async def delete_schedule(*, session: AsyncSession, blueprint_id: str, name: str) -> None:
    """Delete a schedule (the orders it made stay)."""
    row = await get_schedule(session=session, blueprint_id=blueprint_id, name=name)
    await session.delete(row)
    await session.commit()
