"""Orders are never stranded and never leak: a header that would split the request is a
step error on the order (and in try-it); credentials stay with their origin across redirects
and are redacted in every encoded form; a lease outlives a slow step; a job a dead worker left
"in progress" does not hold its order back; an orphaned order is swept up; an expression bomb
fails its own order fast; an idle worker leaves Redis alone, yet runs deferred jobs on time."""

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from sqlmodel import col, select

from backend.app.worker import make_worker
from backend.core.queue import QUEUE, enqueue_activation, job_id
from backend.orders.dispatch import sweep
from backend.orders.models import Order
from tests.conftest import served
from tests.orders.builders import demo_call, linear, node, step_runs
from tests.orders.conftest import ECHO_LOG, _echo
from tests.orders.test_credentials import allow, everything_stored


def header_call(echo_url: str, **fields):
    return {"id": "hdr", "name": "hdr", "method": "POST", "url": echo_url + "/echo",
            "headers": {"X-Customer": "{{ input.name }}"}, "body": {"a": 1}, **fields}


@pytest.mark.parametrize("name", ["Kim\r\nX-Injected: 1", "Kim\nEvil", "Kim\x7f"])
async def test_a_header_with_a_line_break_fails_the_order_with_its_reason(
        name, live_client, live_settings, api_call, published, create_order, get_order,
        run_worker, echo_url):
    await api_call(header_call(echo_url))
    await published(linear("hdr-bp", node("call", "api_call", api_call="hdr")))
    await create_order("h-1", "hdr-bp", {"name": name})
    await run_worker(outbound_allow=allow(echo_url))
    order = await get_order("h-1")
    assert (order["state"], order["error"]["code"]) == ("failed", "bad_header")
    assert ECHO_LOG == []  # nothing was sent

    tried = await live_client.post("/api/api-calls/hdr/try", json={"input": {"name": name}})
    assert tried.status_code == 200
    assert (tried.json()["ok"], tried.json()["error"]["code"]) == (False, "bad_header")


CREDS = [{"id": "c-bearer", "name": "b", "type": "bearer", "token": "tok-SEKRET"},
         {"id": "c-header", "name": "h", "type": "header", "header": "X-Api-Key",
          "value": "hdr-SEKRET"}]


@pytest.mark.parametrize("kind", ["bearer", "header"])
@pytest.mark.parametrize("change", ["host", "port"])
async def test_credentials_do_not_follow_a_redirect_to_another_origin(
        kind, change, live_client, api_call, published, create_order, get_order, run_worker,
        echo_url):
    for body in CREDS:
        assert (await live_client.post("/api/credentials", json=body)).status_code == 201
    async with served(_other_echo()) as other_url:
        port = echo_url.rsplit(":", 1)[1]
        target = f"http://localhost:{port}/landed" if change == "host" else f"{other_url}/landed"
        await api_call({"id": "go", "name": "go", "method": "GET", "credential": f"c-{kind}",
                        "url": echo_url + "/redirect", "query": {"to": target}})
        await published(linear("redir-bp", node("call", "api_call", api_call="go")))
        await create_order("r-1", "redir-bp", {})
        await run_worker(outbound_allow=[*allow(echo_url, other_url), "localhost"])
    order = await get_order("r-1")
    assert order["state"] == "completed", order["error"]
    landed = next(call for call in ECHO_LOG if call["path"] == "/landed")
    headers = {key.lower(): value for key, value in landed["headers"].items()}
    assert "authorization" not in headers and "x-api-key" not in headers
    assert headers["host"] == target.split("/")[2]  # Host names the new origin


def _other_echo():
    from starlette.applications import Starlette
    from starlette.routing import Route

    return Starlette(routes=[Route("/{path:path}", _echo, methods=["GET", "POST"])])


async def test_an_echoed_query_secret_is_redacted_in_every_encoding(
        live_client, api_call, published, create_order, get_order, run_worker, db_rows,
        echo_url):
    secret = "SEKRET q+&/=%é"
    assert (await live_client.post("/api/credentials", json={
        "id": "c-query", "name": "q", "type": "query", "param": "key",
        "value": secret})).status_code == 201
    await api_call({"id": "q", "name": "q", "method": "GET", "credential": "c-query",
                    "url": echo_url + "/echo"})
    await published(linear("q-bp", node("call", "api_call", api_call="q",
                                        save={"url": "response.body.url"})))
    await create_order("q-1", "q-bp", {})
    await run_worker(outbound_allow=allow(echo_url))
    order = await get_order("q-1")
    assert order["state"] == "completed", order["error"]
    assert ECHO_LOG[0]["query"]["key"] == secret  # it was sent
    stored = await everything_stored(live_client, db_rows, "q-1")
    tried = (await live_client.post("/api/api-calls/q/try", json={})).text
    page = (await live_client.get("/orders/q-1")).text
    for form in (secret, quote(secret), quote(secret, safe=""), quote_plus(secret)):
        for text in (stored, tried, page):
            assert form not in text
    assert "[redacted]" in order["vars"]["url"]


async def test_a_step_longer_than_the_lease_runs_once(live_app, live_settings, api_call,
                                                      published, create_order, get_order,
                                                      run_worker, demo_calls):
    await api_call(demo_call("slow", "/responses?delay_ms=2000"))
    await published(linear("slow-bp", node("slow", "api_call", api_call="slow")))
    await create_order("l-1", "slow-bp", {})
    state, short = live_app.state.waybill, live_settings.model_copy(update={"lease_s": 0.5})

    async def sweeping() -> None:
        while True:  # what other workers' sweepers would do meanwhile
            await sweep(state.sessions, state.redis, short)
            await asyncio.sleep(0.1)

    sweeper = asyncio.create_task(sweeping())
    try:
        await run_worker(lease_s=0.5)
    finally:
        sweeper.cancel()
    assert (await get_order("l-1"))["state"] == "completed"
    assert [call["idempotency_key"] for call in await demo_calls()] == ["l-1:slow"]


async def test_a_job_a_dead_worker_holds_does_not_hold_the_order(live_app, live_settings,
                                                                 api_call, published,
                                                                 create_order, get_order,
                                                                 run_worker):
    await api_call(demo_call("ok", "/responses"))
    await published(linear("held-bp", node("call", "api_call", api_call="ok")))
    created = await create_order("d-1", "held-bp", {})
    state = live_app.state.waybill
    pk = (await _pk(state, "d-1"))
    wake_at = (await _order(state, pk)).wake_at
    # a worker took the job and was killed before it leased the order: arq keeps the job
    # "in progress" for JOB_TIMEOUT_S + 10 s
    await state.redis.set(f"arq:in-progress:{job_id(pk, wake_at)}", b"1", ex=3600)
    assert created["state"] == "pending"

    await sweep(state.sessions, state.redis, live_settings)
    async with running_worker(live_settings):  # not burst: the held job never leaves the queue
        for _ in range(200):
            if (await get_order("d-1"))["state"] == "completed":
                break
            await asyncio.sleep(0.05)
    assert (await get_order("d-1"))["state"] == "completed"


@contextlib.asynccontextmanager
async def running_worker(settings):
    worker = make_worker(settings, loops=False)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.close()


async def _pk(state, order_id: str) -> int:
    async with state.sessions() as session:
        return (await session.exec(select(Order.id).where(Order.order_id == order_id))).one()


async def _order(state, pk: int) -> Order:
    async with state.sessions() as session:
        return await session.get(Order, pk)


async def test_an_orphaned_running_order_is_swept_up(live_app, live_settings, api_call,
                                                     published, create_order, get_order,
                                                     run_worker):
    """An activation that died outside a step (the database went away, say) released its
    lease: the order is `running`, with no lease and no wake-up, and must not be lost."""
    await api_call(demo_call("ok", "/responses"))
    await published(linear("orphan-bp", node("call", "api_call", api_call="ok")))
    await create_order("o-1", "orphan-bp", {})
    state = live_app.state.waybill
    async with state.sessions() as session:
        await session.exec(update(Order).where(col(Order.order_id) == "o-1").values(
            state="running", current_node="call", wake_at=None, lease_owner=None,
            lease_until=None))
        await session.commit()
    await state.redis.flushdb()
    assert await sweep(state.sessions, state.redis, live_settings) == 1
    await run_worker()
    order = await get_order("o-1")
    assert order["state"] == "completed"
    assert step_runs(order)[-1] == ("end", 1, "completed")


async def test_an_idle_worker_leaves_redis_alone_yet_runs_deferred_jobs_on_time(
        live_app, live_settings, redis_url):
    default = type(live_settings)(_env_file=None).poll_delay_s
    info = Redis.from_url(redis_url)
    async with running_worker(live_settings.model_copy(update={"poll_delay_s": default})):
        await asyncio.sleep(0.5)  # started and idle
        before = (await info.info("stats"))["total_commands_processed"]
        await asyncio.sleep(2)
        idle_commands = (await info.info("stats"))["total_commands_processed"] - before - 1
        assert idle_commands <= 4, f"{idle_commands} Redis commands in 2 s of idling"

        # a deferred job (a retry, a short sleep) still starts on time
        state = live_app.state.waybill
        due = time.time() + 0.7
        await enqueue_activation(state.redis, 999_999, datetime.fromtimestamp(due, UTC))
        while await state.redis.zcard(QUEUE) and time.time() < due + 3:
            await asyncio.sleep(0.02)
        assert time.time() - due < 0.5, "the deferred job ran late"
    await info.aclose()


@pytest.mark.parametrize("expression", [
    "'a' * input.n * 1000", "lipsum(input.n)", "'x'|center(input.n * 1000)",
    "range(input.n)|join('y' * input.n)",
])
async def test_an_expression_bomb_fails_its_order_fast_and_delays_no_other(
        expression, api_call, published, create_order, get_order, run_worker):
    await api_call(demo_call("ok", "/responses"))
    await published(linear("bomb-bp", node("boom", "function", function="first",
                                           args={"items": f"[{expression}]"})))
    await published(linear("calm-bp", node("call", "api_call", api_call="ok")))
    await create_order("bomb", "bomb-bp", {"n": 100_000})
    await create_order("calm", "calm-bp", {})
    started = time.monotonic()
    await run_worker()
    assert time.monotonic() - started < 5
    bomb, calm = await get_order("bomb"), await get_order("calm")
    assert (bomb["state"], bomb["error"]["code"]) == ("failed", "expression"), bomb["error"]
    assert calm["state"] == "completed"
    step = bomb["steps"][-1]
    assert (step["node"], step["status"]) == ("boom", "failed")
