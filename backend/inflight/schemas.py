"""In-flight impact and migration: requests and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.engine.format import MAX_VERSION, Strict

MAX_MIGRATED = 10_000

Presence = Literal["unchanged", "changed", "missing"]


class InFlightGroup(BaseModel):
    version: int
    node: str
    type: str | None = Field(description="the step's type in its version")
    state: str
    count: int
    in_draft: Presence = Field(description="whether the step exists in the draft with the same "
                                           "settings and the same edges out")


class InFlight(BaseModel):
    blueprint: str
    total: int
    groups: list[InFlightGroup] = Field(description="by version, then step, then state")


class MigrateRequest(Strict):
    from_version: int = Field(ge=1, le=MAX_VERSION)
    to_version: int = Field(ge=1, le=MAX_VERSION)
    node_map: dict[str, str] = Field(
        default_factory=dict, max_length=1_000,
        description="old step id → new step id; a step not named keeps its id")
    order_ids: list[str] | None = Field(default=None, max_length=MAX_MIGRATED,
                                        description="only these orders (default: all of them)")
    steps: list[str] | None = Field(default=None, max_length=1_000,
                                    description="only the orders at these steps of from_version")
    dry_run: bool = False
    by: str | None = Field(default=None, max_length=200, description="who, for the timeline")


class Moved(BaseModel):
    order_id: str
    from_node: str
    to_node: str


class Refused(BaseModel):
    order_id: str
    node: str | None
    code: Literal["not_resting", "in_parallel", "no_step", "other_type", "inside_parallel",
                  "missing_vars", "input_schema", "busy"]
    reason: str
    missing: list[str] = Field(default_factory=list, description="vars the new version reads")


class MigrateSummary(BaseModel):
    moved: int
    refused: int


class MigrateAnswer(BaseModel):
    dry_run: bool
    from_version: int
    to_version: int
    moved: list[Moved] = Field(description="moved, or (dry run) that would move")
    refused: list[Refused]
    summary: MigrateSummary
    limited: bool = Field(default=False, description=f"more than {MAX_MIGRATED:,} orders: "
                                                     "the oldest taken; run it again")
