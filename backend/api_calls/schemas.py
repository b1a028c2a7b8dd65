"""API call definitions as the API serves them. The definition itself (`ApiCallSpec`: a
reusable HTTP request, its templates rendered per step) is the engine's, in
`backend.engine.format`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from backend.engine.format import ApiCallSpec


class ApiCallPublic(ApiCallSpec):
    created_at: datetime
    updated_at: datetime


class ApiCallList(BaseModel):
    data: list[ApiCallPublic]
    next_cursor: str | None = None
