"""Blueprint tables: one editable draft per blueprint, and immutable published versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.core.db import DocumentType, JSONType, UTCDateTime, utcnow


class Blueprint(SQLModel, table=True):
    __tablename__ = "blueprints"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    draft: dict[str, Any] = Field(sa_column=Column(DocumentType, nullable=False))
    latest_version: int | None = None
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BlueprintVersion(SQLModel, table=True):
    __tablename__ = "blueprint_versions"

    blueprint_id: str = Field(
        primary_key=True, max_length=64, foreign_key="blueprints.id", ondelete="CASCADE"
    )
    version: int = Field(primary_key=True)
    definition: dict[str, Any] = Field(sa_column=Column(DocumentType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
