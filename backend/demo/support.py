"""Customer-support stand-ins for the returns seed: reply generation, return labels, and
comments on support tickets (the seed's Zendesk)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.demo.calls import ServiceCall
from backend.demo.store import DemoStore, Record, digits, make_id

router = APIRouter(tags=["support"])

CARRIERS = {
    "us": {"carrier": "USPS", "service": "Ground Advantage", "prefix": "9400", "digits": 18},
    "ca": {"carrier": "Canada Post", "service": "Expedited Parcel", "prefix": "", "digits": 16},
}
INTENTS = (("refund", "refund"), ("return", "return"), ("exchange", "exchange"))
REPLIES = {
    "refund": "your refund request is approved; the money is back once we receive the item.",
    "return": "your return is approved; a prepaid return label is on its way by email.",
    "exchange": "your exchange is approved; ship the item back and we send the new one.",
    "general": "we have your message and a member of our team will reply within a day.",
}


class TicketModel(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="allow")


class ResponseIn(TicketModel):
    ticket_id: str = Field(min_length=1, max_length=100)
    message: str = Field(default="", max_length=20_000)
    customer_name: str | None = Field(default=None, max_length=200)


class LabelIn(TicketModel):
    ticket_id: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    address: dict[str, Any] | None = None
    weight_oz: float | None = Field(default=None, gt=0)


class LineLabelIn(TicketModel):
    ticket_id: str = Field(min_length=1, max_length=100)
    country: Literal["US", "CA"]
    sku: str = Field(min_length=1, max_length=100)
    qty: int = Field(ge=1, le=10_000)
    line: int | None = Field(default=None, ge=0, le=10_000, description="the line's index")

    @field_validator("country", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=20_000)
    public: bool = True
    author: str = Field(default="Waybill", max_length=200)


def intent_of(message: str) -> str:
    """The first known intent a message mentions, else `general`."""
    lowered = message.lower()
    return next((intent for word, intent in INTENTS if word in lowered), "general")


def generate_response(data: ResponseIn) -> tuple[int, Record]:
    """A support reply that depends only on the ticket and its message."""
    intent = intent_of(data.message)
    greeting = f"Hi {data.customer_name}," if data.customer_name else "Hello,"
    text = f"{greeting} thanks for contacting us about ticket #{data.ticket_id}: {REPLIES[intent]}"
    return 200, {"id": make_id("resp", data.ticket_id), "ticket_id": data.ticket_id,
                 "intent": intent, "text": text}


def create_label(store: DemoStore, country: str, data: LabelIn, url: str) -> tuple[int, Record]:
    """A prepaid return label; its tracking number is derived from the ticket id."""
    spec = CARRIERS[country]
    tracking = spec["prefix"] + digits(f"{country}:{data.ticket_id}", spec["digits"])
    label = {"id": make_id(f"lbl_{country}", data.ticket_id), "ticket_id": data.ticket_id,
             "country": country.upper(), "carrier": spec["carrier"], "service": spec["service"],
             "tracking_number": tracking, "label_url": url.replace("TRACKING", tracking)}
    store.labels[tracking] = label
    return 201, label


def create_line_label(store: DemoStore, data: LineLabelIn, url: str) -> tuple[int, Record]:
    """A prepaid return label for one line of a return (one parcel per line); its tracking
    number is derived from the ticket, the line and the sku."""
    country = data.country.lower()
    spec = CARRIERS[country]
    line = data.sku if data.line is None else data.line
    tracking = spec["prefix"] + digits(f"{country}:{data.ticket_id}:{line}:{data.sku}",
                                       spec["digits"])
    label = {"id": make_id(f"lbl_{country}", f"{data.ticket_id}_{line}"),
             "ticket_id": data.ticket_id, "country": data.country, "sku": data.sku,
             "qty": data.qty, "line": data.line, "carrier": spec["carrier"],
             "service": spec["service"], "tracking_number": tracking,
             "label_url": url.replace("TRACKING", tracking)}
    store.labels[tracking] = label
    return 201, label


def add_comment(store: DemoStore, ticket_id: str, data: CommentIn) -> tuple[int, Record]:
    """Append a comment to a support ticket."""
    comments = store.comments.setdefault(ticket_id, [])
    comment = {"id": make_id("cmt", f"{ticket_id}_{len(comments) + 1}"), "ticket_id": ticket_id,
               **data.model_dump()}
    comments.append(comment)
    return 201, comment


@router.post("/responses", summary="Generate a support reply from a ticket's message")
async def post_response(data: ResponseIn, call: ServiceCall):
    return call.write(lambda: generate_response(data))


def _label_url(call: ServiceCall) -> str:
    root = call.request.scope.get("root_path", "")
    return str(call.request.url.replace(path=f"{root}/labels/TRACKING", query=""))


async def _label(country: str, data: LabelIn, call: ServiceCall):
    url = _label_url(call)
    return call.write(lambda: create_label(call.store, country, data, url))


@router.post("/labels/us", status_code=201, summary="Create a US (USPS) return label")
async def post_us_label(data: LabelIn, call: ServiceCall):
    return await _label("us", data, call)


@router.post("/labels/ca", status_code=201, summary="Create a Canadian (Canada Post) label")
async def post_ca_label(data: LabelIn, call: ServiceCall):
    return await _label("ca", data, call)


@router.post("/labels", status_code=201,
             summary="Create a return label for one line of a return (US or CA)")
async def post_line_label(data: LineLabelIn, call: ServiceCall):
    url = _label_url(call)
    return call.write(lambda: create_line_label(call.store, data, url))


@router.get("/labels/{tracking_number}", summary="Read a label")
async def get_label(tracking_number: str, call: ServiceCall):
    label = call.store.labels.get(tracking_number)
    if label is None:
        raise HTTPException(404, f"label {tracking_number} not found")
    return call.read(label)


@router.post("/tickets/{ticket_id}/comments", status_code=201,
             summary="Comment on a support ticket")
async def post_comment(ticket_id: str, data: CommentIn, call: ServiceCall):
    return call.write(lambda: add_comment(call.store, ticket_id, data))


@router.get("/tickets/{ticket_id}/comments", summary="List a ticket's comments")
async def get_comments(ticket_id: str, call: ServiceCall):
    return call.read({"data": call.store.comments.get(ticket_id, [])})
