"""Order bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from backend.engine.format import ID_PATTERN, MAX_VERSION, Strict

ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$"


class OrderCreate(Strict):
    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    blueprint: str = Field(pattern=ID_PATTERN)
    input: dict[str, Any] = Field(default_factory=dict)


class TestRunCreate(Strict):
    input: dict[str, Any] = Field(default_factory=dict)
    mock: bool = False


class StepRunPublic(BaseModel):
    node: str
    lane: str | None = Field(default=None, description="the parallel branch it ran in")
    attempt: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    saved: dict[str, Any] | None
    error: dict[str, Any] | None


class OrderSummary(BaseModel):
    order_id: str
    blueprint: str
    version: int | None
    test: bool
    state: str
    current_node: str | None
    failed_node: str | None
    wake_at: datetime | None
    created_at: datetime
    updated_at: datetime
    parent: str | None = Field(default=None, description="the parent order's id (a child order)")
    parent_node: str | None = None
    child_index: int | None = None


class ChildCounts(BaseModel):
    """How far a for_each/sub_blueprint node's child orders are (`total`: the items)."""

    total: int
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    active: int = 0


class AuditPublic(BaseModel):
    """Something done to the order besides running it (`reprocessed`: `detail` has `from`,
    `node`, and `input` {old, new} when the input was changed)."""

    at: datetime
    actor: str
    kind: str
    detail: dict[str, Any] | None


class OrderPublic(OrderSummary):
    input: dict[str, Any]
    vars: dict[str, Any]
    result: Any
    error: dict[str, Any] | None
    branches: dict[str, Any] | None = Field(
        default=None, description="inside a parallel: each branch's position and state")
    children: dict[str, ChildCounts] = Field(
        default_factory=dict, description="by for_each/sub_blueprint node: its child orders")
    steps: list[StepRunPublic] = Field(default_factory=list)
    audit: list[AuditPublic] = Field(default_factory=list, description="oldest first")


class OrderList(BaseModel):
    data: list[OrderSummary]
    next_cursor: str | None


class OrderFilter(Strict):
    """Which orders (all given fields must match)."""

    state: str | None = None
    blueprint: str | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    failed_node: str | None = None
    order_id: str | None = Field(default=None, description="prefix of the order id")
    parent: str | None = Field(default=None, max_length=200,
                               description="children of this order (its id)")
    test: bool | None = False


class OrderQuery(OrderFilter):
    """`GET /api/orders` query: a filter and a page."""

    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=100)

    def where(self) -> OrderFilter:
        return OrderFilter.model_validate(self.model_dump(exclude={"limit", "cursor"}))


class ReprocessRequest(Strict):
    order_ids: list[str] | None = Field(default=None, max_length=10_000)
    filter: OrderFilter | None = None
    from_: Literal["start", "failed"] = Field(
        default="failed", alias="from",
        description="`failed` (the default): each order restarts at the step it failed at, its "
                    "saved values kept (orders that did not fail start over). `start`: every "
                    "step runs again, API calls that already succeeded (refunds) included.")
    dry_run: bool = False

    @model_validator(mode="after")
    def _one_selector(self) -> ReprocessRequest:
        if (self.order_ids is None) == (self.filter is None):
            raise ValueError("give either `order_ids` or `filter`")
        return self


class RerunRequest(Strict):
    """`POST /api/orders/{order_id}/reprocess`: one finished order again, its input fixed."""

    from_: Literal["start", "failed"] = Field(default="failed", alias="from",
                                              description="as for the bulk reprocess")
    input: dict[str, Any] | None = Field(
        default=None, description="the order's new input (checked against its version's "
        "input_schema); the old and new input are kept on the order's timeline")
    by: str | None = Field(default=None, max_length=100,
                           description="who asks (shown on the timeline)")


class ReprocessAnswer(BaseModel):
    dry_run: bool
    count: int
    order_ids: list[str] = Field(description="the first 100 of the orders")
    steps: dict[str, int] = Field(description="how many orders restart at each node")


class CancelRequest(Strict):
    order_ids: list[str] | None = Field(default=None, max_length=10_000)
    filter: OrderFilter | None = None
    dry_run: bool = False

    @model_validator(mode="after")
    def _one_selector(self) -> CancelRequest:
        if (self.order_ids is None) == (self.filter is None):
            raise ValueError("give either `order_ids` or `filter`")
        return self


class CancelAnswer(BaseModel):
    dry_run: bool
    count: int = Field(description="active orders that stop (or would stop) before their next step")
    order_ids: list[str] = Field(description="the first 100 of them")
