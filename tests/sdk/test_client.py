"""The blocking client against a real server and a real worker: results, failures, signals,
paging, the token, retries, and waiting by polling when there is no event stream."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from waybill import (
    AsyncClient,
    Client,
    Conflict,
    Invalid,
    NotFound,
    Order,
    OrderCancelled,
    OrderFailed,
    StepRun,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from waybill.api import SseParser

from tests.sdk.conftest import TOKEN, Requests, blocking


async def until(client: Client, order_id: str, state: str) -> Order:
    for _ in range(200):
        order = await blocking(client.get, order_id)
        if order.state == state:
            return order
        await asyncio.sleep(0.02)
    raise AssertionError(f"{order_id} never {state}: {order.state}")


async def test_execute_returns_the_result_of_a_completing_order(url, worker):
    with Client(url) as client:
        assert await blocking(client.execute, "sdk-double", input={"n": 21}, timeout=20) == 42
        handle = await blocking(client.start, "sdk-double", order_id="o-1", input={"n": 2})
        assert (handle.order_id, handle.order.state, handle.order.blueprint) == (
            "o-1", "pending", "sdk-double")
        assert await blocking(handle.result, 20) == 4
        order = await blocking(client.get, "o-1")
    assert (order.state, order.result, order.version, order.input) == ("completed", 4, 1, {"n": 2})
    assert [(step.node, step.status) for step in order.steps] == [
        ("start", "completed"), ("end", "completed")]
    assert isinstance(order.steps[0], StepRun) and order.steps[0].finished_at is not None
    assert order.raw["order_id"] == "o-1"


async def test_a_failing_order_raises_order_failed_naming_the_step(url, worker):
    with Client(url) as client:
        with pytest.raises(OrderFailed) as failed:
            await blocking(client.execute, "sdk-refuse", order_id="o-bad", timeout=20)
        assert failed.value.failed_step == "refuse"
        assert "'refuse'" in str(failed.value) and "HTTP 400" in str(failed.value)
        assert failed.value.error["code"] == "http_status"
        assert failed.value.order.state == "failed"

        preview = await blocking(client.reprocess, filter={"state": "failed"}, dry_run=True)
        assert (preview, preview.dry_run, preview.steps) == (1, True, {"refuse": 1})
        again = await blocking(client.reprocess, order_ids=["o-bad"], from_="start")
        assert (again, again.dry_run, again.order_ids) == (1, False, ["o-bad"])
        with pytest.raises(OrderFailed):
            await blocking(client.handle("o-bad").result, 20)

        handle = client.handle("o-bad")
        order = await blocking(handle.rerun, {"why": "fixed"}, from_="failed", by="kim")
        assert (order.state, order.current_node, order.input) == ("pending", "refuse",
                                                                 {"why": "fixed"})
        assert order.audit[-1]["actor"] == "kim"
        assert order.audit[-1]["detail"]["input"] == {"old": {}, "new": {"why": "fixed"}}
        with pytest.raises(OrderFailed):  # the API still refuses it
            await blocking(handle.result, 20)


async def test_a_signal_resumes_a_waiting_order(url, worker):
    with Client(url) as client:
        handle = await blocking(client.start, "sdk-approval", order_id="o-wait")
        await until(client, "o-wait", "waiting")
        answered = await blocking(handle.signal, "approved", {"by": "kim"})
        assert answered.order_id == "o-wait" and handle.order is answered
        assert await blocking(handle.result, 20) == "kim"
        assert (await blocking(handle.refresh)).vars == {"by": "kim"}


async def test_cancel_and_wake(url, worker):
    with Client(url) as client:
        napping = await blocking(client.start, "sdk-nap", order_id="o-nap")
        await until(client, "o-nap", "sleeping")
        assert (await blocking(napping.wake)).wake_at is not None
        assert await blocking(napping.result, 20) == "rested"

        waiting = await blocking(client.start, "sdk-approval", order_id="o-stop")
        await until(client, "o-stop", "waiting")
        assert (await blocking(waiting.cancel)).state == "cancelled"
        with pytest.raises(OrderCancelled):
            await blocking(waiting.result, 20)
        with pytest.raises(Conflict):
            await blocking(waiting.signal, "approved", {"by": "late"})


async def test_api_errors_are_typed(url):
    with Client(url) as client:
        with pytest.raises(NotFound) as missing:
            await blocking(client.get, "nope")
        assert (missing.value.status, missing.value.type) == (404, "not_found")
        with pytest.raises(Invalid) as invalid:
            await blocking(client.start, "sdk-double", order_id="bad id!")
        assert invalid.value.status == 422 and invalid.value.problems
        await blocking(client.start, "sdk-double", order_id="o-twice", input={"n": 1})
        with pytest.raises(Conflict):
            await blocking(client.start, "sdk-double", order_id="o-twice", input={"n": 1})
        waiting = await blocking(client.start, "sdk-approval")
        with pytest.raises(WaitTimeout) as late:
            await blocking(waiting.result, 0.3)
        assert isinstance(late.value, TimeoutError) and late.value.state == "pending"


async def test_orders_pages_through_450_orders(url):
    """No worker: the orders stay pending."""
    async with AsyncClient(url) as creating:
        limit = asyncio.Semaphore(20)

        async def start(index: int) -> None:
            async with limit:
                await creating.start("sdk-double", order_id=f"p-{index:03}", input={"n": index})

        await asyncio.gather(*(start(index) for index in range(450)))
    requests = Requests()
    with Client(url) as client:
        client.http.event_hooks = {"request": [requests]}
        seen = await blocking(lambda: list(client.orders(blueprint="sdk-double", page_size=100)))
    assert len(seen) == 450
    assert {order.order_id for order in seen} == {f"p-{index:03}" for index in range(450)}
    assert {order.state for order in seen} == {"pending"}
    assert requests.count("GET /api/orders") == 5 == len(requests.sent)


async def test_a_wrong_token_is_unauthorized(guarded_url, monkeypatch):
    for token in ("wrong", ""):
        with Client(guarded_url, token=token) as client, pytest.raises(Unauthorized) as refused:
            await blocking(client.get, "any")
        assert refused.value.status == 401
    with Client(guarded_url, token=TOKEN) as client, pytest.raises(NotFound):
        await blocking(client.get, "any")
    monkeypatch.setenv("WAYBILL_TOKEN", TOKEN)
    monkeypatch.setenv("WAYBILL_URL", guarded_url)
    with Client() as client, pytest.raises(NotFound):
        await blocking(client.get, "any")


async def test_result_polls_when_the_event_stream_is_unavailable(url, redisless_url, worker):
    requests = Requests()
    with Client(url) as starting, Client(redisless_url) as waiting:
        await blocking(starting.start, "sdk-nap", order_id="o-poll")
        waiting.http.event_hooks = {"request": [requests]}
        assert await blocking(waiting.handle("o-poll").result, 20) == "rested"
    assert requests.sent[0] == "GET /api/orders/o-poll/events"
    assert requests.count("GET /api/orders/o-poll/events") == 1
    assert requests.count("GET /api/orders/o-poll") >= 3  # polled through the 1 s sleep


class LosesFirstAnswer(httpx.HTTPTransport):
    """A real transport whose first answer to each path is lost after the server acted."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.sent.append(f"{request.method} {request.url.path}")
        if self.sent.count(self.sent[-1]) == 1:
            response.close()
            raise httpx.ReadError("connection reset after the request was sent")
        return response


async def test_a_start_is_retried_a_signal_never(url, worker):
    lossy = LosesFirstAnswer()
    with Client(url, transport=lossy) as client:
        handle = await blocking(client.start, "sdk-approval", order_id="o-retry")
        assert (handle.order_id, handle.order.blueprint) == ("o-retry", "sdk-approval")
        assert lossy.sent[:3] == ["POST /api/orders", "POST /api/orders", "GET /api/orders/o-retry"]
        with pytest.raises(TransportError):
            await blocking(handle.signal, "approved", {"by": "once"})
        assert lossy.sent.count("POST /api/orders/o-retry/signals/approved") == 1
        assert await blocking(handle.result, 20) == "once"  # it was delivered, once
    with Client(url, transport=LosesFirstAnswer()) as client, pytest.raises(Conflict):
        await blocking(client.start, "sdk-double", order_id="o-retry")


def test_the_event_stream_parser():
    parser = SseParser()
    lines = [": ping", "", "event: step_started", 'data: {"node": "a",', 'data: "attempt": 1}', "",
             "id: 7", "data: {}", "", "event: snapshot"]
    events = [event for line in lines if (event := parser.feed(line)) is not None]
    assert [(event.type, event.data) for event in events] == [
        ("step_started", {"node": "a", "attempt": 1}), ("message", {})]
