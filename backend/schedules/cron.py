"""Ticks of a cron expression in a time zone, as UTC moments (croniter does the calendar).

An expression is 5 fields (minute hour day month weekday), 6 with seconds as the last field
(croniter's order: `*/10 * * * * 30` is every ten minutes at second 30), or one of croniter's
`@hourly`, `@daily`... The finest unit is the second, so no expression ticks more often than
once a second. Random (`R`) and hashed (`H`) fields are refused: every worker must compute
the same ticks, or a tick's order id would not be the same everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from croniter import (  # type: ignore[import-untyped]  # no stubs or py.typed
    CroniterBadDateError,
    CroniterError,
    croniter,
)

_RANDOM = re.compile(r"^[RH](\(|/|$)", re.IGNORECASE)


class ScheduleTimeError(ValueError):
    """A cron expression or time zone that gives no ticks."""


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`UTC`, `Europe/Berlin`)."""
    if name not in _zones():
        raise ScheduleTimeError(f"{name!r} is not an IANA time zone name (like UTC or "
                                "Europe/Berlin).")
    return ZoneInfo(name)


def _shape_problem(expression: str) -> str | None:
    if expression.startswith("@"):
        return None
    fields = expression.split()
    if len(fields) not in (5, 6):
        return (f"A cron expression has 5 fields (minute hour day month weekday), or 6 with "
                f"seconds last; this one has {len(fields)}.")
    if any(_RANDOM.match(part) for field in fields for part in field.split(",")):
        return "Random (R) and hashed (H) fields are not supported: every worker must agree."
    return None


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a cron expression this project runs, else None."""
    problem = _shape_problem(expression)
    if problem:
        return problem
    try:
        croniter(expression, datetime.now(UTC)).get_next(datetime)
    except CroniterBadDateError:
        return "It never ticks: no date matches (like 30 February)."
    except CroniterError as exc:
        return f"Not a cron expression: {exc}"
    except Exception as exc:  # whatever else croniter makes of odd text: still the user's text
        return f"Not a cron expression: {exc}"
    return None


def normalised(expression: str) -> str:
    return " ".join(expression.split())


def next_after(expression: str, zone_name: str, after: datetime) -> datetime:
    """The first tick strictly after `after`, in UTC."""
    try:
        found = croniter(expression, after.astimezone(zone(zone_name))).get_next(datetime)
    except Exception as exc:  # croniter's errors, and its odd ones (OverflowError in year 9999)
        raise ScheduleTimeError(str(exc)) from exc
    tick: datetime = found.astimezone(UTC)
    if tick <= after:  # croniter must move on, or a pass would never end
        raise ScheduleTimeError(f"{expression!r} did not move past {after.isoformat()}")
    return tick


def upcoming(expression: str, zone_name: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` ticks after `after`, each in the schedule's zone (its offset shown)."""
    tz = zone(zone_name)
    ticks: list[datetime] = []
    moment = after
    for _ in range(count):
        moment = next_after(expression, zone_name, moment)
        ticks.append(moment.astimezone(tz))
    return ticks


def _last_before(expression: str, zone_name: str, now: datetime, count: int) -> list[datetime]:
    """The last `count` ticks at or before `now`, oldest first, in UTC."""
    whole = now.replace(microsecond=0) + timedelta(seconds=1)  # ticks fall on whole seconds
    try:
        walk: Any = croniter(expression, whole.astimezone(zone(zone_name)))
        found = [walk.get_prev(datetime).astimezone(UTC) for _ in range(count)]
    except Exception as exc:
        raise ScheduleTimeError(str(exc)) from exc
    return found[::-1]


@dataclass(frozen=True)
class Due:
    """What a pass at some moment owes a schedule: the ticks to make (at most the cap,
    oldest first), the older ones skipped (first and last; None when none) and the next tick
    after them all."""

    ticks: list[datetime]
    skipped: tuple[datetime, datetime] | None
    next_tick: datetime


def due(expression: str, zone_name: str, first: datetime, now: datetime, cap: int) -> Due:
    """The ticks from `first` (the schedule's next tick) up to `now`: all of them if there
    are at most `cap`, else the last `cap` and the range of those skipped."""
    ticks: list[datetime] = []
    tick = first
    while tick <= now and len(ticks) <= cap:
        ticks.append(tick)
        tick = next_after(expression, zone_name, tick)
    if len(ticks) <= cap:
        return Due(ticks, None, tick)
    kept = _last_before(expression, zone_name, now, cap + 1)
    skipped_to, kept = kept[0], kept[1:]
    return Due(kept, (first, skipped_to), next_after(expression, zone_name, kept[-1]))
