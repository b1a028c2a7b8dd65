"""Engine throughput and webhook latency, against a raw-client baseline in the same run.

    .venv/bin/python bench/engine.py [--mode all|engine|e2e] [--orders 2000] [--concurrency 20]
                                     [--senders 16] [--latency-samples 200]
                                     [--workers 1,2,3]

1. Baselines: the same 3 sequential calls per order against the same mock API, with a
   shared httpx client (default transport), httpx on the aiohttp transport, and aiohttp.
2. Engine: N orders of a 3-API-call blueprint, created up front, run by a real `waybill
   worker` (arq, Redis, SQLite or DATABASE_URL) with durable per-step checkpoints;
   orders/s from the first step start to the last step end, step p50/p95.
3. Webhook-to-first-step latency: `POST /webhooks/...` on a real `waybill web` to the
   worker's first `step_started` event on Redis pub/sub, one order at a time.
4. End to end (`--mode e2e`), as users load it: N webhooks, SENDERS at a time, into a real
   `waybill web`, run by a real `waybill worker`, completion observed in the database; rate =
   orders / (last order finished − first webhook sent); CPU ms per order of the web, the
   worker and Redis (psutil, over the run); webhook → 202 and webhook → first step p50/p95
   (the step run's `started_at` against the send time), saturated and then one at a time;
   with `--workers 1,2,3` one run per number of worker processes; the raw clients at SENDERS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil
from httpx_aiohttp import AiohttpTransport
from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table
from sqlalchemy import func
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.api_calls.service import create_api_call  # noqa: E402
from backend.blueprints.service import create_blueprint, publish  # noqa: E402
from backend.core import db, embedded_redis, events  # noqa: E402
from backend.core.config import Settings  # noqa: E402
from backend.core.errors import Conflict  # noqa: E402
from backend.core.queue import connect_redis, enqueue_activation  # noqa: E402
from backend.engine.format import (
    ApiCallSpec,  # noqa: E402
    BlueprintDoc,  # noqa: E402
)
from backend.orders.models import Order, StepRun  # noqa: E402
from backend.orders.service import create_order  # noqa: E402
from backend.variables.service import put_variable  # noqa: E402

console = Console(width=120)
ROOT = Path(__file__).resolve().parents[1]
WAYBILL = [sys.executable, "-m", "backend.app.cli"]


def blueprint(blueprint_id: str = "bench") -> BlueprintDoc:
    calls = [{"id": f"call{n}", "type": "api_call", "api_call": f"bench-step-{n}",
              "args": {"value": "vars.last" if n > 1 else "input.value"},
              "save": {"last": "response.body.step"}} for n in (1, 2, 3)]
    nodes = [{"id": "start", "type": "start"}, *calls,
             {"id": "done", "type": "end", "result": "vars.last"}]
    ids = [node["id"] for node in nodes]
    edges = [{"source": a, "target": b} for a, b in zip(ids, ids[1:], strict=False)]
    return BlueprintDoc.model_validate({
        "id": blueprint_id, "name": "Bench: 3 API calls", "nodes": nodes, "edges": edges,
        "webhook": {"order_id_field": "order_id"}})


def api_call(n: int) -> ApiCallSpec:
    return ApiCallSpec.model_validate({
        "id": f"bench-step-{n}", "name": f"Bench step {n}", "method": "POST",
        "url": "{{ variables.mock_url }}/step/" + str(n), "body": {"value": "{{ args.value }}"},
        "retry": {"max_attempts": 3, "initial_s": 0.1}})


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


# -- baselines ---------------------------------------------------------------------------------


async def _orders_per_s(one_order: Any, orders: int, concurrency: int) -> float:
    limit = asyncio.Semaphore(concurrency)

    async def run(index: int) -> None:
        async with limit:
            await one_order(index)

    started = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(orders)))
    return orders / (time.perf_counter() - started)


async def httpx_rate(base: str, orders: int, concurrency: int, transport: str) -> float:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    client = (httpx.AsyncClient(transport=AiohttpTransport(limits=limits)) if transport == "aiohttp"
              else httpx.AsyncClient(limits=limits))
    async with client:
        async def order(index: int) -> None:
            value = index
            for n in (1, 2, 3):
                response = await client.post(f"{base}/step/{n}", json={"value": value},
                                             headers={"Idempotency-Key": f"{index}:{n}"})
                value = response.json()["step"]

        return await _orders_per_s(order, orders, concurrency)


async def aiohttp_rate(base: str, orders: int, concurrency: int) -> float:
    async with aiohttp.ClientSession() as session:
        async def order(index: int) -> None:
            value = index
            for n in (1, 2, 3):
                async with session.post(f"{base}/step/{n}", json={"value": value},
                                        headers={"Idempotency-Key": f"{index}:{n}"}) as response:
                    value = (await response.json())["step"]

        return await _orders_per_s(order, orders, concurrency)


# -- the engine --------------------------------------------------------------------------------


async def prepare(settings: Settings, mock_url: str, orders: int,
                  blueprint_id: str = "bench") -> None:
    engine = db.make_engine(settings.resolved_database_url)
    await db.upgrade(engine)
    sessions = db.make_sessionmaker(engine)
    async with sessions() as session:
        await put_variable(session=session, name="mock_url", value=mock_url)
        for n in (1, 2, 3):
            try:
                await create_api_call(session=session, spec=api_call(n))
            except Conflict:  # made by an earlier mode of this run
                await session.rollback()
        await create_blueprint(session=session, doc=blueprint(blueprint_id))
        await publish(session=session, blueprint_id=blueprint_id)
        for index in range(orders):
            await create_order(session=session, redis=None, settings=settings,
                               order_id=f"bench-{index}", blueprint_id="bench",
                               payload={"value": index})
    await engine.dispose()


async def enqueue_all(settings: Settings) -> None:
    engine = db.make_engine(settings.resolved_database_url)
    redis = await connect_redis(settings.redis_url)
    async with db.make_sessionmaker(engine)() as session:
        for order_pk, wake_at in await session.exec(select(Order.id, Order.wake_at)):
            await enqueue_activation(redis, order_pk, wake_at)
    await redis.aclose()
    await engine.dispose()


async def wait_done(settings: Settings, orders: int, timeout: float) -> dict[str, Any]:
    engine = db.make_engine(settings.resolved_database_url)
    sessions = db.make_sessionmaker(engine)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with sessions() as session:
                done = (await session.exec(select(func.count()).select_from(Order).where(
                    col(Order.state).in_(["completed", "failed"])))).one()
            if done >= orders:
                return await step_figures(sessions)
            await asyncio.sleep(0.25)
        raise TimeoutError("orders did not finish in time")
    finally:
        await engine.dispose()


async def step_figures(sessions: Any) -> dict[str, Any]:
    async with sessions() as session:
        steps = list(await session.exec(select(StepRun)))
        failed = (await session.exec(select(func.count()).select_from(Order).where(
            Order.state == "failed"))).one()
    first = min(step.started_at for step in steps)
    last = max(step.finished_at for step in steps)
    durations = [(s.finished_at - s.started_at).total_seconds() * 1000 for s in steps
                 if s.node.startswith("call")]
    return {"elapsed": (last - first).total_seconds(), "failed": failed,
            "p50": percentile(durations, 50), "p95": percentile(durations, 95)}


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = open(Path(env.get("DATA_DIR", "/tmp")) / f"{Path(args[-1]).name}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=log)


async def engine_rate(env: dict[str, str], settings: Settings, mock_url: str, orders: int,
                      concurrency: int) -> dict[str, Any]:
    await prepare(settings, mock_url, orders)
    await enqueue_all(settings)
    command = [*WAYBILL, "worker"]
    if env.get("BENCH_PROFILE"):  # collapsed stacks of the worker, for flame graphs
        command = ["py-spy", "record", "--format", "raw", "-r", "200", "-o", env["BENCH_PROFILE"],
                   "--", *command]
    worker = start(command, env | {"CONCURRENCY": str(concurrency)})
    try:
        figures = await wait_done(settings, orders, timeout=600)
    finally:
        worker.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
        worker.wait()
    figures["rate"] = orders / figures["elapsed"]
    return figures


# -- webhook latency ---------------------------------------------------------------------------


async def webhook_latency(env: dict[str, str], settings: Settings,
                          samples: int) -> list[tuple[float, float]]:
    port = embedded_redis.free_port()
    web = start([*WAYBILL, "web", "--port", str(port)], env)
    worker = start([*WAYBILL, "worker"], env)
    redis = Redis.from_url(settings.redis_url)
    pubsub = redis.pubsub()
    await pubsub.psubscribe(events.ALL_ORDERS)
    latencies: list[tuple[float, float]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _wait_healthy(client)
        await asyncio.sleep(1.0)  # let the worker start polling
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client:
            for _ in range(samples):
                latencies.append(await _one_webhook(client, pubsub))
    finally:
        await pubsub.aclose()
        await redis.aclose()
        for process in (web, worker):
            process.terminate()
            process.wait()
    return latencies


async def _wait_healthy(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("web did not start")


async def _one_webhook(client: aiohttp.ClientSession, pubsub: Any) -> tuple[float, float]:
    """(ms until the 202, ms until the first step started); the client is aiohttp, the
    cheapest here, so that the figure is Waybill's and not the client's."""
    order_id = f"hook-{uuid.uuid4().hex[:10]}"
    started = time.perf_counter()
    async with client.post("/webhooks/bench", json={"order_id": order_id, "value": 1}) as answer:
        answer.raise_for_status()
        await answer.read()
    answered = (time.perf_counter() - started) * 1000
    first_step = await _event(pubsub, order_id, b"step_started", started)
    await _event(pubsub, order_id, b'"completed"', started)  # measure the next one at rest
    return answered, first_step


async def _event(pubsub: Any, order_id: str, marker: bytes, started: float) -> float:
    """ms from `started` until an event of the order containing `marker`."""
    deadline = started + 5
    while time.perf_counter() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if message and order_id.encode() in message["data"] and marker in message["data"]:
            return (time.perf_counter() - started) * 1000
    raise TimeoutError(f"no {marker!r} event within 5 s")


# -- end to end: webhooks in, completion observed in the database -----------------------------


def cpu_s(process: psutil.Process) -> float:
    """CPU seconds (user + system) of a process and its children so far."""
    total = 0.0
    for one in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = one.cpu_times()
            total += times.user + times.system
    return total


async def end_to_end(env: dict[str, str], settings: Settings, mock_url: str, orders: int,
                     senders: int, redis_pid: int, workers: int = 1,
                     paced: int = 100) -> dict[str, Any]:
    """ORDERS webhooks, SENDERS at a time (the system saturated), then PACED more one at a
    time, 20 ms apart (webhook → first step on an unloaded system)."""
    blueprint_id = f"e2e-{workers}w"
    await prepare(settings, mock_url, 0, blueprint_id=blueprint_id)
    port = embedded_redis.free_port()
    web = start([*WAYBILL, "web", "--port", str(port)], env)
    started = [start([*WAYBILL, "worker"], env) for _ in range(workers)]
    processes = {"web": psutil.Process(web.pid), "redis": psutil.Process(redis_pid)} | {
        f"worker{n}": psutil.Process(worker.pid) for n, worker in enumerate(started)}
    sent: dict[str, float] = {}
    answered: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _wait_healthy(client)
        await asyncio.sleep(1.0)  # the workers are up and polling
        before = {name: cpu_s(process) for name, process in processes.items()}
        limit = asyncio.Semaphore(senders)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client:
            async def send(order_id: str, index: int) -> float:
                sent[order_id] = time.time()
                begun = time.perf_counter()
                async with client.post(f"/webhooks/{blueprint_id}",
                                       json={"order_id": order_id, "value": index}) as answer:
                    answer.raise_for_status()
                    await answer.read()
                return (time.perf_counter() - begun) * 1000

            async def saturating(index: int) -> None:
                async with limit:
                    answered.append(await send(f"e2e-{workers}w-{index}", index))

            await asyncio.gather(*(saturating(i) for i in range(orders)))
            finished = await _wait_finished(settings, blueprint_id, orders, timeout=900)
            after = {name: cpu_s(process) for name, process in processes.items()}
            solo = [f"e2e-{workers}w-solo-{i}" for i in range(paced)]
            solo_answered = []
            for index, order_id in enumerate(solo):
                solo_answered.append(await send(order_id, index))
                await asyncio.sleep(0.02)
        await _wait_finished(settings, blueprint_id, orders + paced, timeout=120)
    finally:
        for process in (web, *started):
            process.terminate()
            process.wait()
    first_steps = await _first_steps(settings, blueprint_id)
    saturated = [order_id for order_id in sent if order_id not in solo]
    elapsed = finished - min(sent[order_id] for order_id in saturated)
    cpu_ms = {name: (after[name] - before[name]) * 1000 / orders for name in processes}
    return {"rate": orders / elapsed, "elapsed": elapsed, "answered": answered,
            "first_step": [(first_steps[i] - sent[i]) * 1000 for i in saturated],
            "solo_answered": solo_answered,
            "solo_first_step": [(first_steps[i] - sent[i]) * 1000 for i in solo],
            "cpu_ms": cpu_ms | {"worker": sum(ms for name, ms in cpu_ms.items()
                                              if name.startswith("worker"))}}


async def _wait_finished(settings: Settings, blueprint_id: str, orders: int,
                         timeout: float) -> float:
    """When the last of the blueprint's orders finished (epoch seconds), once all have."""
    engine = db.make_engine(settings.resolved_database_url)
    sessions = db.make_sessionmaker(engine)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with sessions() as session:
                done, last = (await session.exec(
                    select(func.count(), func.max(Order.updated_at)).select_from(Order).where(
                        Order.blueprint_id == blueprint_id,
                        col(Order.state).in_(["completed", "failed"])))).one()
            if done >= orders:
                return _epoch(last)
            await asyncio.sleep(0.1)
        raise TimeoutError("orders did not finish in time")
    finally:
        await engine.dispose()


async def _first_steps(settings: Settings, blueprint_id: str) -> dict[str, float]:
    """Each order's first step start (epoch seconds)."""
    engine = db.make_engine(settings.resolved_database_url)
    try:
        async with db.make_sessionmaker(engine)() as session:
            rows = await session.exec(
                select(Order.order_id, func.min(StepRun.started_at))
                .join(StepRun, col(StepRun.order_pk) == col(Order.id))
                .where(Order.blueprint_id == blueprint_id).group_by(col(Order.order_id)))
            return {order_id: _epoch(started) for order_id, started in rows}
    finally:
        await engine.dispose()


def _epoch(moment: Any) -> float:
    """A stored timestamp (UTC; SQLite gives it back naive) as epoch seconds."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float(moment.timestamp())


# -- main --------------------------------------------------------------------------------------


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["all", "engine", "e2e"], default="all")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--senders", type=int, default=16, help="webhooks in flight (e2e)")
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--workers", type=lambda text: [int(n) for n in text.split(",")],
                        default=[1], help="e2e: worker processes, e.g. 1,2,3 (one run each)")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="waybill-bench-") as folder:
        redis_process, redis_url = embedded_redis.start(Path(folder) / "redis")
        mock_port = embedded_redis.free_port()
        mock = start([sys.executable, str(ROOT / "bench" / "mock_api.py"), str(mock_port)],
                     dict(os.environ))
        mock_url = f"http://127.0.0.1:{mock_port}"
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url,
                   SECRET_KEY="bench", LOAD_EXAMPLES="false", DATA_DIR=folder,
                   OUTBOUND_ALLOW=f"127.0.0.1:{mock_port}")
        settings = Settings(_env_file=None, database_url=database_url, redis_url=redis_url,
                            data_dir=Path(folder), secret_key="bench", load_examples=False)
        try:
            await _wait_port(mock_port)
            if options.mode in ("all", "engine"):
                await run_all(options, env, settings, mock_url)
            if options.mode in ("all", "e2e"):
                await run_e2e(options, env, settings, mock_url, redis_process.pid)
        finally:
            mock.terminate()
            redis_process.terminate()


async def _wait_port(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)


async def run_all(options: argparse.Namespace, env: dict[str, str], settings: Settings,
                  mock_url: str) -> None:
    n, c = options.orders, options.concurrency
    console.print(f"[bold]{n} orders × 3 API calls, concurrency {c}[/bold] "
                  f"(database: {settings.resolved_database_url.split(':')[0]})")
    raw_httpx = await httpx_rate(mock_url, n, c, "httpx")
    raw_httpx_aiohttp = await httpx_rate(mock_url, n, c, "aiohttp")
    raw_aiohttp = await aiohttp_rate(mock_url, n, c)
    engine = await engine_rate(env, settings, mock_url, n, c)
    latencies = await webhook_latency(env, settings, options.latency_samples)

    table = Table("measure", "figure", "vs raw httpx")
    table.add_row("raw httpx (default transport)", f"{raw_httpx:,.0f} orders/s", "1.00")
    table.add_row("raw httpx on aiohttp transport", f"{raw_httpx_aiohttp:,.0f} orders/s",
                  f"{raw_httpx_aiohttp / raw_httpx:.2f}")
    table.add_row("raw aiohttp", f"{raw_aiohttp:,.0f} orders/s", f"{raw_aiohttp / raw_httpx:.2f}")
    table.add_row("Waybill engine (arq worker, checkpoint per step)",
                  f"{engine['rate']:,.0f} orders/s", f"{engine['rate'] / raw_httpx:.2f}")
    table.add_row("engine step duration p50 / p95", f"{engine['p50']:.1f} / {engine['p95']:.1f} ms", "")
    table.add_row("engine failed orders", str(engine["failed"]), "")
    answered = [answer for answer, _ in latencies]
    first_step = [step for _, step in latencies]
    table.add_row("webhook → 202 answered p50 / p95",
                  f"{percentile(answered, 50):.1f} / {percentile(answered, 95):.1f} ms", "")
    table.add_row("webhook → first step started p50 / p95",
                  f"{percentile(first_step, 50):.1f} / {percentile(first_step, 95):.1f} ms", "")
    console.print(table)


async def run_e2e(options: argparse.Namespace, env: dict[str, str], settings: Settings,
                  mock_url: str, redis_pid: int) -> None:
    n, senders = options.orders, options.senders
    database = settings.resolved_database_url.split(":")[0]
    console.print(f"[bold]end to end: {n} webhooks, {senders} at a time, 3 API calls each[/bold] "
                  f"(database: {database})")
    raw_aiohttp = await aiohttp_rate(mock_url, n, senders)
    raw_httpx = await httpx_rate(mock_url, n, senders, "httpx")
    table = Table("measure", "figure", "vs raw aiohttp")
    table.add_row("raw aiohttp", f"{raw_aiohttp:,.0f} orders/s", "1.00")
    table.add_row("raw httpx (default transport)", f"{raw_httpx:,.0f} orders/s",
                  f"{raw_httpx / raw_aiohttp:.3f}")
    for workers in options.workers:
        run = await end_to_end(env, settings, mock_url, n, senders, redis_pid, workers)
        label = f"{workers} worker{'s' if workers > 1 else ''}"
        table.add_row(f"[bold]Waybill end to end[/bold] ({database}, {label})",
                      f"{run['rate']:,.1f} orders/s", f"{run['rate'] / raw_aiohttp:.3f}")
        cpu = run["cpu_ms"]
        table.add_row("  CPU per order: worker(s) / web / Redis",
                      f"{cpu['worker']:.1f} / {cpu['web']:.1f} / {cpu['redis']:.1f} ms", "")
        for what, key in (("202", "answered"), ("first step", "first_step")):
            table.add_row(f"  webhook → {what} p50 / p95, {senders} at a time",
                          f"{percentile(run[key], 50):.1f} / {percentile(run[key], 95):.1f} ms", "")
            solo = run[f"solo_{key}"]
            table.add_row(f"  webhook → {what} p50 / p95, one at a time",
                          f"{percentile(solo, 50):.1f} / {percentile(solo, 95):.1f} ms", "")
    console.print(table)


if __name__ == "__main__":
    asyncio.run(main())
