"""The replay lab's request and answer."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, computed_field

from backend.engine.format import MAX_VERSION, Strict
from backend.orders.schemas import OrderFilter

MAX_ORDERS = 500


class ReplayRequest(Strict):
    version: Literal["draft"] | Annotated[int, Field(ge=1, le=MAX_VERSION)] = Field(
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def said(self) -> str:
        """How it differs, in a few words (the replay page and the editor show it)."""
        before, after = self.before or {}, self.after
        if after is None:
            return "not reached any more"
        if "value" in before and before.get("value") != after.get("value"):
            return f"was {_short(before.get('value'))}, now {_short(after.get('value'))}"
        if before.get("status") != after.get("status"):
            return f"was {before.get('status')}, now {after.get('status')}"
        if before.get("request") != after.get("request"):
            return "sends another request"
        if before.get("result") != after.get("result"):
            return f"ends with {_short(after.get('result'))}"
        if before.get("saved") != after.get("saved"):
            return "saves other values"
        if before.get("next") != after.get("next"):
            return f"goes on to {after.get('next') or 'nothing'}"
        return "differs"


def _short(value: Any, most: int = 60) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= most else text[:most - 1] + "…"


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
