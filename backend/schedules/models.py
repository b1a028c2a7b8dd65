"""The schedules table: one row per schedule of a blueprint (deleted with it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.db import DocumentType, JSONType, UTCDateTime, utcnow


class Schedule(SQLModel, table=True):
    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("blueprint_id", "name", name="uq_schedules_blueprint_name"),
        Index("ix_schedules_next_tick", "next_tick"),  # the ticker's "what is due"
    )

    id: int | None = Field(default=None, primary_key=True)
    blueprint_id: str = Field(max_length=64, foreign_key="blueprints.id", ondelete="CASCADE")
    name: str = Field(max_length=64)
    cron: str = Field(max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    input: dict[str, Any] = Field(default_factory=dict,
                                  sa_column=Column(DocumentType, nullable=False))
    enabled: bool = True
    next_tick: datetime | None = Field(default=None, sa_type=UTCDateTime,
                                       description="the next tick due (UTC); None when off")
    last_tick: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_order_id: str | None = Field(default=None, max_length=200)
    last_error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
