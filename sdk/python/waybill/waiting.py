"""Waiting for an order to be final, shared by both clients: the deadline, what says the
order is final, when the event stream counts as gone, and the polling that replaces it.

The stream (`GET /api/orders/{id}/events`) starts with a `snapshot` (the whole order), then
the worker's step events; `step_finished` and `order_state` carry the order's `state` after
them. A state of completed, failed or cancelled is final; the order is then read again with
GET, so its result and error are complete. If the stream cannot be had or drops (no Redis
on the server: 409; a 5xx; the connection failed or closed), the order is polled instead,
every 0.2 s at first, doubling to every 2 s."""

from __future__ import annotations

import time
from typing import Any

import httpx

from waybill.errors import (
    Conflict,
    OrderCancelled,
    OrderFailed,
    ServerError,
    TransportError,
    WaitTimeout,
)
from waybill.models import Event, Order

POLL_FIRST_S, POLL_MAX_S = 0.2, 2.0
STREAM_GONE = (Conflict, ServerError, TransportError, httpx.TransportError)


class Wait:
    def __init__(self, order_id: str, timeout: float | None) -> None:
        self.order_id = order_id
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.state: str | None = None
        self._pause = POLL_FIRST_S
        self._polled: tuple[Any, ...] | None = None

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def stream_timeout(self, timeout: float) -> httpx.Timeout:
        """The client's timeout, but reads wait up to the deadline (an idle order sends
        nothing but a ping every 15 s)."""
        remaining = self.remaining()
        return httpx.Timeout(timeout, read=None if remaining is None else remaining + 0.05)

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise WaitTimeout(self.order_id, self.timeout or 0.0, self.state)

    def says_final(self, event: Event) -> bool:
        self.state = event.state or self.state
        return event.final

    def changed(self, order: Order) -> Event | None:
        """A polled order as a `snapshot` event, if it changed since the last poll."""
        self.state = order.state
        seen = (order.state, order.current_node, order.updated_at, len(order.steps))
        if seen == self._polled:
            return None
        self._polled = seen
        return Event("snapshot", order.raw, order)

    def pause(self) -> float:
        """Seconds until the next poll; WaitTimeout once the deadline has passed."""
        self.check()
        pause, self._pause = self._pause, min(self._pause * 2, POLL_MAX_S)
        remaining = self.remaining()
        return pause if remaining is None else min(pause, remaining)


def outcome(final: Event) -> Any:
    """The result of the order in `watch()`'s last event; OrderFailed or OrderCancelled if
    it did not complete."""
    order = final.order
    if order is None or not order.final:
        raise ValueError(f"not a final order: {final.type} {final.state}")
    if order.state == "completed":
        return order.result
    if order.state == "failed":
        raise OrderFailed(order)
    raise OrderCancelled(order)
