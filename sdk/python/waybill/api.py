"""The API as data, shared by `Client` and `AsyncClient`: each operation is a `Call` (what
to send, whether it may be sent again, how to read the answer), and the clients only move
it over HTTP. Everything here is free of I/O."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar
from urllib.parse import quote

import httpx

from waybill.errors import Conflict, TransportError, WaybillError, error_for
from waybill.models import Event, Order, Page, Reprocessed

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
RETRY_DELAYS_S = (0.2, 0.5)  # a call that may be sent again is, twice, after these pauses
USER_AGENT = "waybill-client/0.1"


class Filters(TypedDict, total=False):
    """Which orders `orders()` lists: all that are given (not None) must match; `order_id`
    is a prefix, `parent` a parent order's id."""

    state: str | None
    blueprint: str | None
    version: int | None
    failed_node: str | None
    order_id: str | None
    parent: str | None


def base_url(url: str | None) -> str:
    return (url or os.environ.get("WAYBILL_URL") or DEFAULT_URL).rstrip("/")


def headers(token: str | None) -> dict[str, str]:
    """`token=None` reads WAYBILL_TOKEN; an empty token sends none."""
    token = os.environ.get("WAYBILL_TOKEN") if token is None else token
    return {"User-Agent": USER_AGENT, **({"Authorization": f"Bearer {token}"} if token else {})}


class CreatedEarlier(Conflict):
    """A create sent again answered 409: maybe the first attempt made it after all."""


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[Any], T]
    params: dict[str, Any] | None = None
    json: Any = None
    idempotent: bool = False  # sending it twice does what sending it once does
    creates: bool = False  # a 409 after a retry may be this call's own earlier attempt

    def request(self) -> dict[str, Any]:
        """Keyword arguments of httpx's `request()`."""
        return {"method": self.method, "url": self.path, "params": self.params, "json": self.json}

    def answer(self, response: httpx.Response, *, retried: bool) -> T:
        if response.is_success:
            return self.read(response.json())
        error = refusal(response)
        if self.creates and retried and isinstance(error, Conflict):
            raise CreatedEarlier(error.detail, status=error.status, type=error.type)
        raise error


def refusal(response: httpx.Response) -> WaybillError:
    """The error an unsuccessful answer (already read) stands for."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return error_for(response.status_code, body, response.text[:200])


class Attempts:
    """Transport failures of one call: an idempotent call is sent again (twice, after a
    short pause); anything else, a signal say, never is, since it could happen twice."""

    def __init__(self, call: Call[Any]) -> None:
        self.call = call
        self.retries = 0

    @property
    def retried(self) -> bool:
        return self.retries > 0

    def pause_after(self, exc: httpx.TransportError) -> float:
        """Seconds to wait before sending again; TransportError when it must not be sent."""
        if not self.call.idempotent or self.retries >= len(RETRY_DELAYS_S):
            reason = str(exc) or type(exc).__name__
            raise TransportError(f"No answer to {self.call.method} {self.call.path}: {reason}") from exc
        self.retries += 1
        return RETRY_DELAYS_S[self.retries - 1]


def _order_path(order_id: str, *rest: str) -> str:
    return "/".join(["/api/orders", quote(order_id, safe=""), *(quote(p, safe="") for p in rest)])


def new_order_id() -> str:
    """Made here, not by the server, so a create sent again cannot make a second order."""
    return str(uuid.uuid4())


def create_order(blueprint: str, order_id: str, input: dict[str, Any] | None) -> Call[Order]:
    body = {"order_id": order_id, "blueprint": blueprint, "input": input or {}}
    return Call("POST", "/api/orders", Order.from_json, json=body, idempotent=True, creates=True)


def same_blueprint(order: Order, blueprint: str) -> Order:
    """The order a retried create found, if it is the one that create meant."""
    if order.blueprint != blueprint:
        raise Conflict(f"An order with id {order.order_id!r} already exists, for blueprint "
                       f"{order.blueprint!r}.", status=409, type="conflict")
    return order


def get_order(order_id: str) -> Call[Order]:
    return Call("GET", _order_path(order_id), Order.from_json, idempotent=True)


def list_orders(filters: Filters, page_size: int, cursor: str | None) -> Call[Page]:
    params = {key: value for key, value in filters.items() if value is not None}
    params |= {"limit": page_size, **({"cursor": cursor} if cursor else {})}
    return Call("GET", "/api/orders", Page.from_json, params=params, idempotent=True)


def order_action(order_id: str, action: Literal["cancel", "wake"]) -> Call[Order]:
    return Call("POST", _order_path(order_id, action), Order.from_json)


def signal(order_id: str, name: str, payload: Any) -> Call[Order]:
    return Call("POST", _order_path(order_id, "signals", name), Order.from_json, json=payload)


def reprocess(order_ids: list[str] | None, filter: Filters | None, from_: str,
              dry_run: bool) -> Call[Reprocessed]:
    selector = {"order_ids": order_ids} if order_ids is not None else {"filter": filter}
    body = {**selector, "from": from_, "dry_run": dry_run}
    return Call("POST", "/api/orders/reprocess", Reprocessed.from_json, json=body)


def rerun(order_id: str, input: dict[str, Any] | None, from_: str, by: str | None) -> Call[Order]:
    body = {"from": from_, **({"input": input} if input is not None else {}),
            **({"by": by} if by else {})}
    return Call("POST", _order_path(order_id, "reprocess"), Order.from_json, json=body)


def events_path(order_id: str) -> str:
    return _order_path(order_id, "events")


class SseParser:
    """Server-Sent Events, fed line by line: `event:` and `data:` fields, a blank line ends
    an event, lines starting with `:` are comments (the server's keep-alive pings)."""

    def __init__(self) -> None:
        self._type, self._data = "message", list[str]()

    def feed(self, line: str) -> Event | None:
        if line == "":
            event = _event(self._type, "\n".join(self._data)) if self._data else None
            self._type, self._data = "message", []
            return event
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._type = value
        elif field == "data":
            self._data.append(value)
        return None


def _event(kind: str, text: str) -> Event:
    data = json.loads(text)
    return Event(kind, data, Order.from_json(data) if kind == "snapshot" else None)
