"""The replay lab's request and answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.engine.format import Strict
from backend.orders.schemas import OrderFilter

MAX_ORDERS = 500


class ReplayRequest(Strict):
    version: Literal["draft"] | int = Field(
        default="draft", description="what to replay on: the draft, or a published version")
    filter: OrderFilter = Field(
        default_factory=OrderFilter,
        description="which past orders (of this blueprint; newest first); without a state, "
                    "those that completed or failed")
    limit: int = Field(default=100, ge=1, le=MAX_ORDERS)


class ReplaySide(BaseModel):
    state: str
    result: Any = None
    error: dict[str, Any] | None = None
    path: list[str]


class Difference(BaseModel):
    node: str = Field(description="the first step of the original path whose outcome differs")
    before: dict[str, Any] | None
    after: dict[str, Any] | None = Field(description="None: the replay did not reach it")


class ReplayedOrder(BaseModel):
    order_id: str
    before: ReplaySide
    after: ReplaySide
    changed: bool
    unrecorded: list[str] = Field(description="steps answered by their API call's mock: the "
                                              "order never made that call")
    first_difference: Difference | None


class ReplaySummary(BaseModel):
    total: int
    same: int
    changed: int
    unrecorded: int = Field(description="orders with at least one unrecorded call")
    skipped: int = Field(default=0, description="orders left out when the time budget ran out")


class NodeCounts(BaseModel):
    changed: int = 0
    unrecorded: int = 0


class ReplayAnswer(BaseModel):
    blueprint: str
    version: Literal["draft"] | int
    orders: list[ReplayedOrder]
    summary: ReplaySummary
    nodes: dict[str, NodeCounts] = Field(description="per step: orders whose first difference "
                                                     "is there, and orders unrecorded there")
    elapsed_ms: float
