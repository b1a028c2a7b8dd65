"""API call definitions (the seed's "Apicall schema")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.core.db import DocumentType, UTCDateTime, utcnow


class ApiCall(SQLModel, table=True):
    __tablename__ = "api_calls"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    definition: dict[str, Any] = Field(sa_column=Column(DocumentType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
