"""Variables: named non-secret values, in scope of every expression as `variables`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.core.db import DocumentType, UTCDateTime, utcnow


class Variable(SQLModel, table=True):
    __tablename__ = "variables"

    name: str = Field(primary_key=True, max_length=64)
    value: Any = Field(sa_column=Column(DocumentType, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
