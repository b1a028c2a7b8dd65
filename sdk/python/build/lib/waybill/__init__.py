"""Waybill's Python client: start orders, act on them, wait for their results.

    from waybill import Client
    client = Client("http://127.0.0.1:8000")
    result = client.execute("returns-approved", input={...}, timeout=60)
"""

from waybill.async_client import AsyncClient, AsyncOrderHandle
from waybill.client import Client, OrderHandle
from waybill.errors import (
    Conflict,
    Invalid,
    NotFound,
    OrderCancelled,
    OrderFailed,
    ServerError,
    TransportError,
    Unauthorized,
    WaitTimeout,
    WaybillError,
)
from waybill.models import FINAL_STATES, Event, Order, Page, Reprocessed, StepRun

__all__ = [
    "FINAL_STATES", "AsyncClient", "AsyncOrderHandle", "Client", "Conflict", "Event", "Invalid",
    "NotFound", "Order", "OrderCancelled", "OrderFailed", "OrderHandle", "Page", "Reprocessed",
    "ServerError", "StepRun", "TransportError", "Unauthorized", "WaitTimeout", "WaybillError",
]
__version__ = "0.1.0"
