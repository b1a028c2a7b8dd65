"""Schedule bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.engine.format import Strict

# a blueprint id's slug without dots: the tick's order id `{blueprint}.{name}.{tick}` then
# reads one way only (blueprint ids may hold dots; a schedule's name and the tick do not)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
NEXT_RUNS = 5


class ScheduleFields(Strict):
    cron: str = Field(min_length=1, max_length=200, examples=["0 9 * * 1-5"],
                      description="5 fields (minute hour day month weekday), or 6 with seconds "
                      "last (`* * * * * */10`: every 10 s)")
    timezone: str = Field(default="UTC", min_length=1, max_length=64,
                          examples=["Europe/Berlin"], description="an IANA time zone name")
    input: dict[str, Any] = Field(
        default_factory=dict, description="each order's input: a JSON object whose strings are "
        "templates seeing `schedule` (name, tick, blueprint) and `variables`")
    enabled: bool = True


class ScheduleCreate(ScheduleFields):
    name: str = Field(pattern=NAME_PATTERN, description="unique within the blueprint")


class ScheduleUpdate(ScheduleFields):
    """The whole schedule again (fields left out take their defaults)."""

    name: str | None = Field(default=None, pattern=NAME_PATTERN,
                             description="if given, the name in the path")


class SchedulePublic(BaseModel):
    blueprint: str
    name: str
    cron: str
    timezone: str
    input: dict[str, Any]
    enabled: bool
    next_runs: list[str] = Field(description=f"the next {NEXT_RUNS} ticks, ISO 8601 in the "
                                 "schedule's zone (none while it is off)")
    next_tick: datetime | None = Field(description="the next tick due, UTC (null while off)")
    last_tick: datetime | None
    last_order_id: str | None
    last_error: dict[str, Any] | None = Field(
        description="what went wrong at the last tick made (or ticks skipped), else null")
    created_at: datetime
    updated_at: datetime


class ScheduleList(BaseModel):
    data: list[SchedulePublic]
    next_cursor: str | None = None
