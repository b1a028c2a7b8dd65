"""The blocking client: `Client` and the `OrderHandle` it gives out."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator
from typing import Any, Literal, TypeVar, Unpack

import httpx

from waybill import api
from waybill.models import Event, Order, Reprocessed
from waybill.waiting import STREAM_GONE, Wait, outcome

T = TypeVar("T")


class Client:
    """`Client(url, token=None, timeout=10.0)`; url and token default to WAYBILL_URL and
    WAYBILL_TOKEN. `http` is the underlying `httpx.Client` (event hooks, proxies);
    `transport` an httpx transport to send through."""

    def __init__(self, url: str | None = None, *, token: str | None = None,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url, self.timeout = api.base_url(url), timeout
        self.http = httpx.Client(base_url=self.url, headers=api.headers(token), timeout=timeout,
                                 transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _send(self, call: api.Call[T]) -> T:
        attempts = api.Attempts(call)
        while True:
            try:
                response = self.http.request(**call.request())
            except httpx.TransportError as exc:
                time.sleep(attempts.pause_after(exc))
            else:
                return call.answer(response, retried=attempts.retried)

    def start(self, blueprint: str, *, order_id: str | None = None,
              input: dict[str, Any] | None = None) -> OrderHandle:
        """Create an order (its id made here unless given) on the latest published version."""
        order_id = order_id or api.new_order_id()
        try:
            order = self._send(api.create_order(blueprint, order_id, input))
        except api.CreatedEarlier:
            order = api.same_blueprint(self.get(order_id), blueprint)
        return OrderHandle(self, order.order_id, order)

    def execute(self, blueprint: str, *, order_id: str | None = None,
                input: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """Start an order and wait for its result."""
        return self.start(blueprint, order_id=order_id, input=input).result(timeout)

    def handle(self, order_id: str) -> OrderHandle:
        """A handle on an existing order (nothing is read yet)."""
        return OrderHandle(self, order_id)

    def get(self, order_id: str) -> Order:
        return self._send(api.get_order(order_id))

    def orders(self, *, page_size: int = 100, **filters: Unpack[api.Filters]) -> Iterator[Order]:
        """Every order that matches, newest first, a page (`page_size`) read at a time."""
        cursor: str | None = None
        while True:
            page = self._send(api.list_orders(filters, page_size, cursor))
            yield from page.orders
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def reprocess(self, *, order_ids: list[str] | None = None,
                  filter: api.Filters | None = None, from_: Literal["failed", "start"] = "failed",
                  dry_run: bool = False) -> Reprocessed:
        """Run finished orders again (by ids or by filter); answers how many."""
        return self._send(api.reprocess(order_ids, filter, from_, dry_run))

    def _events(self, order_id: str, wait: Wait) -> Generator[Event, None, None]:
        with self.http.stream("GET", api.events_path(order_id),
                              timeout=wait.stream_timeout(self.timeout)) as response:
            if not response.is_success:
                response.read()
                raise api.refusal(response)
            parser = api.SseParser()
            for line in response.iter_lines():
                wait.check()
                if (event := parser.feed(line)) is not None:
                    yield event


class OrderHandle:
    """One order: act on it, follow it, wait for its result. `order` is the last read."""

    def __init__(self, client: Client, order_id: str, order: Order | None = None) -> None:
        self.client, self.order_id, self.order = client, order_id, order

    def __repr__(self) -> str:
        return f"OrderHandle({self.order_id!r}, state={self.order and self.order.state!r})"

    def _seen(self, order: Order) -> Order:
        self.order = order
        return order

    def refresh(self) -> Order:
        return self._seen(self.client.get(self.order_id))

    def signal(self, name: str, payload: Any = None) -> Order:
        """Deliver a signal (sent once: never retried, it would be delivered twice)."""
        return self._seen(self.client._send(api.signal(self.order_id, name, payload)))

    def wake(self) -> Order:
        """End a sleep or a retry delay now."""
        return self._seen(self.client._send(api.order_action(self.order_id, "wake")))

    def cancel(self) -> Order:
        return self._seen(self.client._send(api.order_action(self.order_id, "cancel")))

    def rerun(self, input: dict[str, Any] | None = None, *,
              from_: Literal["failed", "start"] = "failed", by: str | None = None) -> Order:
        """Run the finished order again, from its failed step (saved values kept) or the
        start, with `input` replacing its input if given; kept on its timeline, `by` named."""
        return self._seen(self.client._send(api.rerun(self.order_id, input, from_, by)))

    def watch(self, timeout: float | None = None) -> Iterator[Event]:
        """The order's events until it is final: a `snapshot`, step events, and last a
        `final` event with the order read again. Polls when the stream is not to be had;
        WaitTimeout after `timeout` seconds."""
        wait = Wait(self.order_id, timeout)
        with contextlib.suppress(*STREAM_GONE), \
                contextlib.closing(self.client._events(self.order_id, wait)) as stream:
            for event in stream:
                yield event
                if wait.says_final(event):
                    break
        order = self.refresh()
        while not order.final:
            if (changed := wait.changed(order)) is not None:
                yield changed
            time.sleep(wait.pause())
            order = self.refresh()
        yield Event("final", order.raw, order)

    def result(self, timeout: float | None = None) -> Any:
        """Wait until the order is final: its result, or OrderFailed / OrderCancelled."""
        *_, final = self.watch(timeout)
        return outcome(final)
