"""What the API says about blueprints around the format: validation reports, summaries,
drafts and versions. The format itself (`BlueprintDoc`, `Node`, `Edge`, ...) is the engine's,
in `backend.engine.format`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """One validation error, pinned to a node or an edge where it has one."""

    node: str | None = None
    edge: tuple[str, str] | None = None
    code: str
    message: str


class ValidationReport(BaseModel):
    valid: bool
    errors: list[Problem]


class BlueprintSummary(BaseModel):
    id: str
    name: str
    description: str
    latest_version: int | None
    draft_changed: bool
    valid: bool
    order_counts: dict[str, int] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class BlueprintPublic(BlueprintSummary):
    draft: dict[str, Any]
    errors: list[Problem]


class VersionSummary(BaseModel):
    version: int
    created_at: datetime


class VersionPublic(VersionSummary):
    blueprint_id: str
    definition: dict[str, Any]
