"""Commerce stand-ins for the returns seed: return records, refunds (of an order, or of the
lines of a multi-item return), subscriptions."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from backend.demo.calls import ServiceCall
from backend.demo.store import DemoStore, Record, digest, make_id

router = APIRouter(tags=["returns"])
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class ReturnIn(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")
    ticket_id: str = Field(min_length=1, max_length=100)
    order_id: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=2000)


class ReturnPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workflow_id: str | None = Field(default=None, min_length=1, max_length=200)
    matched: bool | None = None
    status: Literal["open", "received", "matched", "closed"] | None = None


class RefundIn(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")
    order_id: str = Field(min_length=1, max_length=100)
    amount: float | None = Field(default=None, gt=0, description="omitted: a full refund")
    currency: str = Field(default="USD", min_length=3, max_length=3)
    reason: str | None = Field(default=None, max_length=2000)


class RefundLine(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")
    sku: str = Field(min_length=1, max_length=100)
    qty: int = Field(ge=1, le=10_000)
    price: int = Field(ge=0, description="what was paid for the line (all its qty), in cents")


class LinesRefundIn(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")
    ticket_id: str = Field(min_length=1, max_length=100)
    order_id: str | None = Field(default=None, max_length=100)
    lines: list[RefundLine] = Field(min_length=1, max_length=100)
    total: int = Field(ge=0, description="cents: must be the sum of the lines' prices")
    currency: str = Field(default="USD", min_length=3, max_length=3)
    reason: str | None = Field(default=None, max_length=2000)


class CancelIn(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")
    customer_email: str = Field(pattern=EMAIL, max_length=320)
    ticket_id: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=2000)


def create_return(store: DemoStore, data: ReturnIn) -> tuple[int, Record]:
    """One return per ticket (`ret_<ticket_id>`): a second create answers the first (200)."""
    return_id = make_id("ret", data.ticket_id)
    if return_id in store.returns:
        return 200, store.returns[return_id]
    record = {"id": return_id, **data.model_dump(), "status": "open",
              "workflow_id": None, "matched": False}
    store.returns[return_id] = record
    return 201, record


def find_return(store: DemoStore, return_id: str) -> Record:
    """The return, or a 404."""
    if return_id not in store.returns:
        raise HTTPException(404, f"return {return_id} not found")
    return store.returns[return_id]


def update_return(store: DemoStore, return_id: str, data: ReturnPatch) -> tuple[int, Record]:
    """Set the fields given; `matched: true` also moves the status to `matched`."""
    record = find_return(store, return_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if changes.get("matched") and "status" not in changes:
        changes["status"] = "matched"
    record.update(changes)
    return 200, record


def create_refund(store: DemoStore, data: RefundIn) -> tuple[int, Record]:
    """A new refund per call (`re_<order>_<n>`); only an Idempotency-Key makes it once."""
    count = sum(1 for refund in store.refunds.values() if refund["order_id"] == data.order_id)
    refund = {"id": make_id("re", f"{data.order_id}_{count + 1}"), **data.model_dump(),
              "full": data.amount is None, "status": "succeeded"}
    store.refunds[refund["id"]] = refund
    return 201, refund


def refund_lines(store: DemoStore, data: LinesRefundIn) -> tuple[int, Record]:
    """One refund of several return lines (`re_<ticket>_lines_<n>`, new per call without an
    Idempotency-Key); a total that is not the sum of the line prices is a 422 (permanent)."""
    expected = sum(line.price for line in data.lines)
    if data.total != expected:
        raise HTTPException(422, f"total {data.total} is not the sum of the line prices "
                                 f"({expected})")
    count = sum(1 for refund in store.refunds.values()
                if refund.get("ticket_id") == data.ticket_id and "lines" in refund)
    refund = {"id": make_id("re", f"{data.ticket_id}_lines_{count + 1}"), **data.model_dump(),
              "amount": data.total, "line_count": len(data.lines), "full": False,
              "status": "succeeded"}
    store.refunds[refund["id"]] = refund
    return 201, refund


def cancel_subscription(store: DemoStore, data: CancelIn) -> tuple[int, Record]:
    """Cancel the customer's subscription; cancelling again reports `already_cancelled`."""
    sub_id = "sub_" + digest(data.customer_email.lower())[:12]
    known = store.subscriptions.get(sub_id)
    record = {"id": sub_id, **data.model_dump(), "status": "cancelled",
              "already_cancelled": known is not None}
    store.subscriptions[sub_id] = record
    return 200, record


@router.post("/returns", status_code=201, summary="Create the return record of a ticket")
async def post_return(data: ReturnIn, call: ServiceCall):
    return call.write(lambda: create_return(call.store, data))


@router.get("/returns/{return_id}", summary="Read a return")
async def get_return(return_id: str, call: ServiceCall):
    return call.read(find_return(call.store, return_id))


@router.patch("/returns/{return_id}", summary="Set a return's workflow id or match it")
async def patch_return(return_id: str, data: ReturnPatch, call: ServiceCall):
    return call.write(lambda: update_return(call.store, return_id, data))


@router.post("/refunds", status_code=201, summary="Refund an order (in full by default)")
async def post_refund(data: RefundIn, call: ServiceCall):
    return call.write(lambda: create_refund(call.store, data))


@router.post("/refunds/lines", status_code=201,
             summary="Refund several lines of a return at once (in cents)")
async def post_lines_refund(data: LinesRefundIn, call: ServiceCall):
    return call.write(lambda: refund_lines(call.store, data))


@router.get("/refunds", summary="List refunds, optionally of one order")
async def get_refunds(call: ServiceCall, order_id: str | None = None):
    refunds = [r for r in call.store.refunds.values() if order_id in (None, r["order_id"])]
    return call.read({"data": refunds})


@router.post("/subscriptions/cancel", summary="Cancel a customer's subscription")
async def post_cancel_subscription(data: CancelIn, call: ServiceCall):
    return call.write(lambda: cancel_subscription(call.store, data))
