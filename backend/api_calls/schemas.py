"""API call definitions: a reusable HTTP request, its templates rendered per step."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.blueprints.schemas import ID_PATTERN, RetryPolicy, Strict

DEFAULT_IDEMPOTENCY_KEY = "{{ order.id }}:{{ node.id }}"


class MockResponse(Strict):
    status: int = Field(default=200, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None


class ApiCallSpec(Strict):
    """Templates (url, headers, query, body, idempotency_key) see `args`, `input`, `vars`,
    `order`, `node` and `variables`. A body that is a JSON object is rendered value by value;
    a value that is one `{{ expression }}` keeps its type."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(min_length=1, max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    credential: str | None = Field(default=None, max_length=64)
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    success_status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204], min_length=1)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    idempotency_key: str = Field(default=DEFAULT_IDEMPOTENCY_KEY, max_length=500)
    mock: MockResponse | None = None


class ApiCallPublic(ApiCallSpec):
    created_at: datetime
    updated_at: datetime


class ApiCallList(BaseModel):
    data: list[ApiCallPublic]
    next_cursor: str | None = None
