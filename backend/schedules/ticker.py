"""The ticker: every second, in every worker, each enabled schedule whose next tick has come
gets an order per tick, and its next tick moves on.

Exactly once per tick comes from the order id, not from timing: a tick's order id holds the
tick's time (`service.order_id_for`), and `create_order` refuses an id that exists
(Conflict). Workers that pass over the same schedule at once, or a worker that restarts
between making an order and moving the tick on, meet that refusal and go on. Moving the
tick on is a conditional UPDATE (`WHERE next_tick = <the one read>`), so of two workers one
moves it and the other changes nothing, and a schedule edited meanwhile keeps the edit.

- Catch-up: after a pause of the workers, the missed ticks are made, at most MAX_CATCH_UP
  (the latest ones); older ones are skipped, and `last_error` says which.
- A tick that cannot become an order (no published version, input the input_schema refuses,
  a template that fails) records `last_error` and is not tried again: the tick moves on.
- Anything else (the database or Redis away) leaves the tick where it was; the next pass
  tries again, and the order id keeps that from making a tick twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.writer import writer_for
from backend.engine.expressions import ExpressionError
from backend.orders.runner import Runner
from backend.orders.service import create_order
from backend.schedules import cron
from backend.schedules.models import Schedule
from backend.schedules.service import order_id_for, render_input
from backend.variables.service import as_scope

INTERVAL_S = 1.0
MAX_CATCH_UP = 10
PASS_SIZE = 200  # schedules per pass at most; the rest are due in the next pass
log = logging.getLogger(__name__)
_SCHEDULES = Schedule.__table__  # type: ignore[attr-defined]


@dataclass
class _Outcome:
    """What a pass did for one schedule: its last tick, last order and last problem (the
    last tick's, else the note on skipped ticks)."""

    note: dict[str, Any] | None = None
    last_tick: datetime | None = None
    last_order_id: str | None = None
    error: dict[str, Any] | None = None
    made: int = 0

    def done(self, order_id: str, *, new: bool) -> None:
        self.last_order_id, self.error = order_id, self.note
        self.made += new


def _problem(code: str, message: str, tick: datetime | None, **more: Any) -> dict[str, Any]:
    return {"code": code, "message": message,
            "tick": tick.isoformat() if tick else None, **more}


async def run_pass(*, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis | None,
                   settings: Settings, now: datetime) -> int:
    """One pass at `now`: every due schedule's ticks made into orders; the orders made."""
    async with sessions() as session:
        due = list(await session.exec(
            select(Schedule).where(col(Schedule.enabled).is_(True),
                                   col(Schedule.next_tick) <= now)
            .order_by(col(Schedule.next_tick)).limit(PASS_SIZE)))
        variables = await as_scope(session=session) if due else {}
    made = 0
    for schedule in due:
        try:
            made += await _run(schedule, sessions=sessions, redis=redis, settings=settings,
                               now=now, variables=variables)
        except Exception:  # its tick stays due, for the next pass; the others go on
            log.exception("schedule %s of %s failed", schedule.name, schedule.blueprint_id)
    return made


async def _run(schedule: Schedule, *, sessions: async_sessionmaker[AsyncSession],
               redis: ArqRedis | None, settings: Settings, now: datetime,
               variables: dict[str, Any]) -> int:
    assert schedule.next_tick is not None
    try:
        owed = cron.due(schedule.cron, schedule.timezone, schedule.next_tick, now, MAX_CATCH_UP)
    except cron.ScheduleTimeError as exc:  # stored, then refused by a newer croniter or tzdata
        error = _problem("bad_cron", f"The schedule was switched off: {exc}", None)
        await _advance(sessions, schedule, {"enabled": False, "next_tick": None,
                                            "last_error": error})
        return 0
    note = _skipped(owed.skipped)
    outcome = _Outcome(note=note, error=note)
    async with sessions() as session:
        for moment in owed.ticks:
            await _make(session, schedule, moment, outcome, redis=redis, settings=settings,
                        variables=variables)
    values: dict[str, Any] = {"next_tick": owed.next_tick, "last_tick": outcome.last_tick,
                              "last_error": outcome.error}
    if outcome.last_order_id:
        values["last_order_id"] = outcome.last_order_id
    await _advance(sessions, schedule, values)
    return outcome.made


def _skipped(skipped: tuple[datetime, datetime] | None) -> dict[str, Any] | None:
    if skipped is None:
        return None
    first, last = skipped
    return _problem("missed_ticks", f"The ticks from {first.isoformat()} to {last.isoformat()} "
                    f"were missed (no worker ran) and skipped: only the last {MAX_CATCH_UP} "
                    "missed ticks are made.", None, first=first.isoformat(),
                    last=last.isoformat())


async def _make(session: AsyncSession, schedule: Schedule, moment: datetime, outcome: _Outcome,
                *, redis: ArqRedis | None, settings: Settings,
                variables: dict[str, Any]) -> None:
    """The tick's order, unless it exists; a tick that cannot be one says why."""
    outcome.last_tick = moment
    order_id = order_id_for(schedule.blueprint_id, schedule.name, moment)
    try:
        version = await plans.latest(session, schedule.blueprint_id)
        version.input_validator()  # a schema that is no JSON Schema: Conflict, here
        payload = render_input(blueprint_id=schedule.blueprint_id, name=schedule.name,
                               zone_name=schedule.timezone, template=schedule.input,
                               tick=moment, variables=variables)
    except (NotFound, Conflict) as exc:
        outcome.error = _problem("not_runnable", exc.detail, moment, errors=exc.errors)
        return
    except ExpressionError as exc:
        outcome.error = _problem("render_failed", str(exc), moment)
        return
    try:
        await create_order(session=session, redis=redis, settings=settings, order_id=order_id,
                           blueprint_id=schedule.blueprint_id, payload=payload,
                           published=version)
    except Conflict:  # made already: by another worker, or before a restart
        outcome.done(order_id, new=False)
        return
    except Invalid as exc:
        outcome.error = _problem("invalid_input", exc.detail, moment, errors=exc.errors)
        return
    outcome.done(order_id, new=True)


async def _advance(sessions: async_sessionmaker[AsyncSession], schedule: Schedule,
                   values: dict[str, Any]) -> bool:
    """Write `values` if the schedule still has the next tick this pass read (and is on)."""
    statement = _SCHEDULES.update().where(
        _SCHEDULES.c.id == schedule.id, _SCHEDULES.c.next_tick == schedule.next_tick,
        _SCHEDULES.c.enabled == sa.true()).values(**values)
    rows = await writer_for(sessions.kw["bind"]).write(
        lambda connection: connection.execute(statement).rowcount)
    return bool(rows)


async def schedule_loop(runner: Runner, settings: Settings,
                        interval_s: float = INTERVAL_S) -> None:
    """A pass just after every whole `interval_s` of the clock, for as long as the worker runs."""
    while True:
        try:
            await run_pass(sessions=runner.sessions, redis=runner.redis, settings=settings,
                           now=utcnow())
        except Exception:  # a broken pass must not stop the loop: the next one tries again
            log.exception("schedule pass failed")
        await asyncio.sleep(interval_s - time.time() % interval_s + 0.005)
