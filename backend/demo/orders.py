"""An order microservice for the state-manager seed: create, list items, process, fail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from backend.demo.calls import ServiceCall
from backend.demo.store import DemoStore, Record, digest, make_id

router = APIRouter(tags=["orders"])
CATALOGUE = (("MUG-01", 1200), ("TEE-M", 2500), ("CAP-02", 1800), ("SOCK-L", 900),
             ("BAG-05", 4500))


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=100)
    qty: int = Field(default=1, ge=1, le=10_000)
    unit_price: int = Field(default=1000, ge=0, description="cents")


class OrderIn(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True, extra="forbid")
    reference: str = Field(min_length=1, max_length=200, description="the caller's order id")
    customer_id: str | None = Field(default=None, max_length=100)
    items: list[Item] | None = Field(default=None, min_length=1, max_length=100)


class ProcessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=100)
    qty: int = Field(default=1, ge=1, le=10_000)


class FailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="unspecified", max_length=2000)
    step: str | None = Field(default=None, max_length=100)
    error: Any = None


def items_for(reference: str) -> list[Record]:
    """One to three catalogue items chosen from a hash of the reference."""
    seed = int(digest(reference), 16)
    count = 1 + seed % 3
    picks = [CATALOGUE[(seed >> (8 * n)) % len(CATALOGUE)] for n in range(count)]
    return [{"sku": sku, "qty": 1 + (seed >> (8 * n + 4)) % 3, "unit_price": price}
            for n, (sku, price) in enumerate(dict(picks).items())]


def create_order(store: DemoStore, data: OrderIn) -> tuple[int, Record]:
    """One order per reference (`ord_<reference>`); creating it again answers it (200)."""
    order_id = make_id("ord", data.reference)
    if order_id in store.orders:
        return 200, store.orders[order_id]
    items = [item.model_dump() for item in data.items] if data.items else items_for(data.reference)
    store.orders[order_id] = {
        "id": order_id, "reference": data.reference, "customer_id": data.customer_id,
        "status": "created", "items": items, "processed": [], "failures": [],
        "total": sum(item["qty"] * item["unit_price"] for item in items)}
    return 201, store.orders[order_id]


def find_order(store: DemoStore, order_id: str) -> Record:
    """The order, or a 404."""
    if order_id not in store.orders:
        raise HTTPException(404, f"order {order_id} not found")
    return store.orders[order_id]


def process_order(store: DemoStore, order_id: str, data: ProcessIn) -> tuple[int, Record]:
    """Process one of the order's items; a sku not on the order is a 422 (permanent)."""
    order = find_order(store, order_id)
    if all(item["sku"] != data.sku for item in order["items"]):
        raise HTTPException(422, f"sku {data.sku} is not on order {order_id}")
    order["processed"].append(data.model_dump())
    order["status"] = "processed"
    return 200, order


def fail_order(store: DemoStore, order_id: str, data: FailIn) -> tuple[int, Record]:
    """Record a failure note on the order and mark it failed."""
    order = find_order(store, order_id)
    order["failures"].append(data.model_dump())
    order["status"] = "failed"
    return 200, order


@router.post("/orders", status_code=201, summary="Create an order")
async def post_order(data: OrderIn, call: ServiceCall):
    return call.write(lambda: create_order(call.store, data))


@router.get("/orders/{order_id}", summary="Read an order")
async def get_order(order_id: str, call: ServiceCall):
    return call.read(find_order(call.store, order_id))


@router.get("/orders/{order_id}/items", summary="List an order's items")
async def get_order_items(order_id: str, call: ServiceCall):
    items = find_order(call.store, order_id)["items"]
    return call.read({"order_id": order_id, "items": items, "count": len(items)})


@router.post("/orders/{order_id}/process", summary="Process an order with one of its skus")
async def post_process(order_id: str, data: ProcessIn, call: ServiceCall):
    return call.write(lambda: process_order(call.store, order_id, data))


@router.post("/orders/{order_id}/fail", summary="Record a failure on an order")
async def post_fail(order_id: str, data: FailIn, call: ServiceCall):
    return call.write(lambda: fail_order(call.store, order_id, data))
