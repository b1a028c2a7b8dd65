"""Orders (one run of a blueprint version), their step runs and their signals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from backend.core.db import DocumentType, JSONType, UTCDateTime, utcnow


class OrderState(StrEnum):
    queued = "queued"  # waiting for a slot of its blueprint's concurrency key
    pending = "pending"
    running = "running"
    sleeping = "sleeping"
    waiting = "waiting"
    retrying = "retrying"
    throttled = "throttled"  # an API call's rate limit or in-flight cap had no slot
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


FINAL_STATES = frozenset({OrderState.completed, OrderState.failed, OrderState.cancelled})
ACTIVE_STATES = frozenset(OrderState) - FINAL_STATES
HOLDING_STATES = ACTIVE_STATES - {OrderState.queued}  # those that hold a concurrency slot


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_state_id", "state", "id"),
        Index("ix_orders_blueprint_id_id", "blueprint_id", "id"),
        Index("ix_orders_failed_node_id", "failed_node", "id"),
        Index("ix_orders_wake_at", "wake_at"),
        Index("ix_orders_dispatch_state", "dispatch", "state", "id"),
        # migration 0002: live counts, and (SQLite only) orders finished per minute
        Index("ix_orders_test_blueprint_state", "test", "blueprint_id", "state"),
        Index("ix_orders_finished", "state", "updated_at",
              sqlite_where=text("state IN ('completed', 'failed')")).ddl_if(dialect="sqlite"),
        Index("ix_orders_order_id_pattern", "order_id",
              postgresql_ops={"order_id": "varchar_pattern_ops"}).ddl_if(dialect="postgresql"),
        # migration 0005: a for_each's children by state and index; the list filtered by parent
        Index("ix_orders_children", "parent_pk", "parent_node", "child_index"),
        Index("ix_orders_parent_id", "parent_id", "id"),
        # migration 0009: a concurrency key's active orders, and its oldest queued one
        Index("ix_orders_concurrency", "concurrency_key", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=200, unique=True)
    blueprint_id: str = Field(max_length=64)
    version: int | None = None
    test: bool = False
    mock: bool = False
    dispatch: str = Field(default="immediate", max_length=16)
    definition: dict[str, Any] | None = Field(default=None, sa_column=Column(DocumentType))
    state: str = Field(default=OrderState.pending, max_length=16)
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(DocumentType, nullable=False))
    vars: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    result: Any = Field(default=None, sa_column=Column(JSONType))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    current_node: str | None = Field(default=None, max_length=64)
    attempt: int = 1
    failed_node: str | None = Field(default=None, max_length=64)
    wake_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    entered_at: datetime | None = Field(default=None, sa_type=UTCDateTime,
                                        description="when it reached its current node")
    # a child order (of a for_each or sub_blueprint node) knows its parent
    parent_pk: int | None = Field(default=None, foreign_key="orders.id", ondelete="CASCADE")
    parent_id: str | None = Field(default=None, max_length=200)
    parent_node: str | None = Field(default=None, max_length=64)
    child_index: int | None = None
    # a blueprint's concurrency limit: `blueprint:value` of its key, and the limit then
    concurrency_key: str | None = Field(default=None, max_length=300)
    concurrency_limit: int | None = None
    # inside a parallel: every live branch's position (see backend.engine.branches)
    branches: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StepRun(SQLModel, table=True):
    __tablename__ = "step_runs"
    __table_args__ = (
        # migration 0003: the dashboard's slowest and most-failing steps of the last hour
        Index("ix_step_runs_started_at", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_pk: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    node: str = Field(max_length=64)
    lane: str | None = Field(default=None, max_length=500, description="the branch it ran in")
    attempt: int = 1
    status: str = Field(max_length=16)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    request: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    saved: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))


class Signal(SQLModel, table=True):
    __tablename__ = "signals"

    id: int | None = Field(default=None, primary_key=True)
    order_pk: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    payload: Any = Field(default=None, sa_column=Column(JSONType))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    consumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Something a person (or their code) did to an order besides running it: its input
    changed for a rerun, a reprocess. Shown on the order's timeline."""

    __tablename__ = "order_audit"

    id: int | None = Field(default=None, primary_key=True)
    order_pk: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
