"""Replay lab: past orders of the returns example replayed on an edited draft and on their
own published version, against running the same orders for real, in the same run.

    .venv/bin/python bench/replay.py [--orders 500] [--repeat 3] [--senders 16]
                                     [--target-s 10] [--profile FILE]

1. What a user runs, started as `waybill dev` starts it: an embedded Redis, `waybill web`
   with the demo services at `/demo` (`DEMO_SERVICES`, `DEMO_URL`) and the example
   blueprints loaded and published on its first start, then a `waybill worker`; SQLite in a
   temporary folder, or DATABASE_URL.
2. Live (the in-run baseline): ORDERS returns orders through `POST /api/orders`, SENDERS at
   a time, a mix of paths (US and CA labels, cancel or keep the subscription, instant refund
   or not). Each sleeps 3 days after creating the return; once all sleep, each is woken
   (`POST /api/orders/{id}/wake`, the order page's "wake now"). Wall time = (first order
   sent → last order asleep) + (first wake sent → last order finished), from the database.
3. Replay: the draft with `is_us` changed (`input.country == 'USA'`, every US order takes
   the Canadian label), then the published version unchanged, REPEAT times each, limit
   ORDERS; figures are medians. Wall time on the client, the answer's `elapsed_ms`, and the
   CPU (user + system, psutil) the worker and the web process spent around each call.

Checks (exit 1 if any fails): every live order completed; each replay answers 200 with
total = ORDERS and nothing skipped; the draft changes exactly the US orders, the published
version none; the demo services received no request during any replay; each median replay
under TARGET_S. `--profile FILE` records the worker with py-spy during one more draft replay
(an .svg is a flame graph, any other name py-spy's raw collapsed stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table
from sqlalchemy import func
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.app.cli import _wait_answering  # noqa: E402
from backend.core import db, embedded_redis  # noqa: E402
from backend.core.config import Settings  # noqa: E402
from backend.core.queue import QUEUE  # noqa: E402
from backend.orders.models import Order  # noqa: E402
from bench.engine import WAYBILL, _epoch, _wait_finished, cpu_s, start  # noqa: E402

console = Console(width=120)
BLUEPRINT = "returns-approved"
EDITED_CONDITION = "input.country == 'USA'"
PATHS = list(itertools.product(("US", "CA"), (("A", True), ("A", False), ("B", True)),
                               (True, False)))  # country, (condition, match), cancel


def returns_input(index: int) -> dict[str, Any]:
    country, (condition, match), cancel = PATHS[index % len(PATHS)]
    return {"ticket_id": f"T-{index}", "order_id": f"ORD-{index}", "country": country,
            "message": "The strap broke", "customer_email": "kim@example.com",
            "cancel_subscription": cancel, "condition": condition, "match": match}


def is_us(index: int) -> bool:
    return PATHS[index % len(PATHS)][0] == "US"


# -- the processes ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(folder: str) -> AsyncIterator[tuple[Settings, str, dict[str, psutil.Process]]]:
    """Redis, `waybill web` (with the demo services) and `waybill worker`, as `waybill dev`
    starts them; yields the settings, the web's URL and the processes to measure."""
    redis_process, redis_url = embedded_redis.start(Path(folder) / "redis")
    port = embedded_redis.free_port()
    base = f"http://127.0.0.1:{port}"
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY="bench",
               DATA_DIR=folder, DEMO_SERVICES="true", DEMO_URL=f"{base}/demo",
               OUTBOUND_ALLOW=f"127.0.0.1:{port}", LOAD_EXAMPLES="true")
    env.pop("ADMIN_TOKEN", None)
    settings = Settings(_env_file=None, database_url=database_url, redis_url=redis_url,
                        data_dir=Path(folder), secret_key="bench", load_examples=False)
    children: list[subprocess.Popen[bytes]] = []
    try:
        web = start([*WAYBILL, "web", "--port", str(port)], env)
        children.append(web)
        _wait_answering([f"{base}/healthz", f"{base}/demo/refunds"], web)
        worker = start([*WAYBILL, "worker"], env)
        children.append(worker)
        await _wait_worker(redis_url, worker)
        yield settings, base, {"worker": psutil.Process(worker.pid), "web": psutil.Process(web.pid)}
    finally:
        for child in reversed(children):
            child.terminate()
            child.wait(timeout=30)
        redis_process.terminate()
        redis_process.wait(timeout=30)


async def _wait_worker(redis_url: str, worker: subprocess.Popen[bytes]) -> None:
    """Until the worker polls (arq sets its health-check key on its first turn)."""
    redis = Redis.from_url(redis_url)
    try:
        for _ in range(1200):
            if await redis.exists(f"{QUEUE}:health-check"):
                return
            if worker.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise RuntimeError("the worker did not start (see worker.log in the data folder)")
    finally:
        await redis.aclose()


# -- live: the orders run for real --------------------------------------------------------------


async def each(items: list[Any], senders: int, send: Callable[[Any], Awaitable[None]]) -> None:
    limit = asyncio.Semaphore(senders)

    async def one(item: Any) -> None:
        async with limit:
            await send(item)

    await asyncio.gather(*(one(item) for item in items))


async def live_run(http: aiohttp.ClientSession, sessions: Any, settings: Settings, orders: int,
                   senders: int) -> dict[str, Any]:
    async def create(index: int) -> None:
        body = {"order_id": f"ret-{index:05d}", "blueprint": BLUEPRINT,
                "input": returns_input(index)}
        async with http.post("/api/orders", json=body) as answer:
            assert answer.status == 201, await answer.text()

    async def wake(order_id: str) -> None:
        async with http.post(f"/api/orders/{order_id}/wake") as answer:
            assert answer.status == 200, await answer.text()

    calls = await demo_calls(http)
    sent = time.time()
    await each(list(range(orders)), senders, create)
    asleep = await _wait_asleep(sessions, orders, timeout=900)
    sleeping = await _ids_in(sessions, "sleeping")
    woken = time.time()
    await each(sleeping, senders, wake)
    finished = await _wait_finished(settings, BLUEPRINT, orders, timeout=900)
    elapsed = (asleep - sent) + (finished - woken)
    return {"elapsed": elapsed, "to_sleep": asleep - sent, "after_wake": finished - woken,
            "states": await _states(sessions), "calls": await demo_calls(http) - calls}


async def _states(sessions: Any) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.exec(select(Order.state, func.count()).where(
            Order.blueprint_id == BLUEPRINT).group_by(col(Order.state)))
        return {str(state): count for state, count in rows}


async def _wait_asleep(sessions: Any, orders: int, timeout: float) -> float:
    """When the last order went to sleep (or ended before), once all have (epoch seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with sessions() as session:
            done, last = (await session.exec(
                select(func.count(), func.max(Order.updated_at)).where(
                    Order.blueprint_id == BLUEPRINT,
                    col(Order.state).in_(["sleeping", "completed", "failed", "cancelled"])))).one()
        if done >= orders:
            return _epoch(last)
        await asyncio.sleep(0.1)
    raise TimeoutError("orders did not reach their sleep in time")


async def _ids_in(sessions: Any, state: str) -> list[str]:
    async with sessions() as session:
        return list(await session.exec(select(Order.order_id).where(
            Order.blueprint_id == BLUEPRINT, Order.state == state)))


async def demo_calls(http: aiohttp.ClientSession) -> int:
    """How many requests the demo services have received (their call log)."""
    async with http.get("/demo/calls") as answer:
        assert answer.status == 200, await answer.text()
        return int((await answer.json())["count"])


# -- replay -------------------------------------------------------------------------------------


async def edit_draft(http: aiohttp.ClientSession) -> int:
    """PUT the draft with `is_us` changed; the published version it was, as a number."""
    async with http.get(f"/api/blueprints/{BLUEPRINT}") as answer:
        blueprint = await answer.json()
    doc = copy.deepcopy(blueprint["draft"])
    for node in doc["nodes"]:
        if node["id"] == "is_us":
            node["expression"] = EDITED_CONDITION
    async with http.put(f"/api/blueprints/{BLUEPRINT}", json=doc) as answer:
        assert answer.status == 200, await answer.text()
    return int(blueprint["latest_version"])


async def replay_once(http: aiohttp.ClientSession, processes: dict[str, psutil.Process],
                      body: dict[str, Any]) -> dict[str, Any]:
    calls = await demo_calls(http)
    before = {name: cpu_s(process) for name, process in processes.items()}
    started = time.perf_counter()
    async with http.post(f"/api/blueprints/{BLUEPRINT}/replay", json=body) as answer:
        status, answered = answer.status, await answer.json()
    wall = time.perf_counter() - started
    cpu = {name: cpu_s(process) - before[name] for name, process in processes.items()}
    return {"status": status, "answer": answered, "wall": wall, "cpu": cpu,
            "calls": await demo_calls(http) - calls}


def problems(run: dict[str, Any], orders: int, changed: int) -> list[str]:
    """What is wrong with one replay's answer (nothing: an empty list)."""
    if run["status"] != 200:
        return [f"status {run['status']}: {str(run['answer'])[:300]}"]
    summary = run["answer"]["summary"]
    found = []
    if (summary["total"], summary["skipped"]) != (orders, 0):
        found.append(f"total {summary['total']}, skipped {summary['skipped']} (want {orders}, 0)")
    if (summary["changed"], summary["same"]) != (changed, orders - changed):
        found.append(f"changed {summary['changed']}, same {summary['same']} "
                     f"(want {changed}, {orders - changed})")
    if run["calls"]:
        found.append(f"the demo services received {run['calls']} requests")
    return found


async def replay_series(http: aiohttp.ClientSession, processes: dict[str, psutil.Process],
                        body: dict[str, Any], repeat: int, orders: int,
                        changed: int) -> dict[str, Any]:
    """REPEAT replays of one request: medians, and the problems of any of them."""
    runs = [await replay_once(http, processes, body) for _ in range(repeat)]
    found = sorted({problem for run in runs for problem in problems(run, orders, changed)})
    good = [run for run in runs if run["status"] == 200]
    return {
        "wall": statistics.median(run["wall"] for run in runs),
        "walls": [run["wall"] for run in runs],
        "elapsed_ms": statistics.median(run["answer"]["elapsed_ms"] for run in good)
        if good else float("nan"),
        "cpu_ms": {name: statistics.median(run["cpu"][name] for run in runs) * 1000 / orders
                   for name in processes},
        "summary": good[-1]["answer"]["summary"] if good else {},
        "nodes": good[-1]["answer"]["nodes"] if good else {},
        "problems": found,
    }


async def profiled_replay(http: aiohttp.ClientSession, processes: dict[str, psutil.Process],
                          body: dict[str, Any], output: Path) -> float:
    """One more replay with py-spy recording the worker (GIL-holding samples only)."""
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [str(py_spy), "record", "--gil", "-r", "200", "-o", str(output),
               "--pid", str(processes["worker"].pid)]
    if output.suffix != ".svg":
        command[2:2] = ["--format", "raw"]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    await asyncio.sleep(1.0)  # attached
    run = await replay_once(http, processes, body)
    recorder.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    recorder.wait(timeout=60)
    return float(run["wall"])


# -- main ---------------------------------------------------------------------------------------


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500, help="live orders, and replay limit")
    parser.add_argument("--repeat", type=int, default=3, help="replays of each version (median)")
    parser.add_argument("--senders", type=int, default=16, help="live requests in flight")
    parser.add_argument("--target-s", type=float, default=10.0, help="a replay's target")
    parser.add_argument("--profile", type=Path, help="py-spy the worker during one more replay")
    options = parser.parse_args()
    if not 1 <= options.orders <= 500:
        parser.error("--orders: 1 to 500 (a replay's limit)")

    with tempfile.TemporaryDirectory(prefix="waybill-replay-") as folder:
        async with running(folder) as (settings, base, processes):
            engine = db.make_engine(settings.resolved_database_url)
            timeout = aiohttp.ClientTimeout(total=180)
            try:
                async with aiohttp.ClientSession(base, timeout=timeout) as http:
                    return await measure(options, http, db.make_sessionmaker(engine), settings,
                                         processes)
            finally:
                await engine.dispose()


async def measure(options: argparse.Namespace, http: aiohttp.ClientSession, sessions: Any,
                  settings: Settings, processes: dict[str, psutil.Process]) -> int:
    n = options.orders
    database = settings.resolved_database_url.split(":")[0]
    console.print(f"[bold]replay lab: {n} orders of {BLUEPRINT}, live then replayed "
                  f"{options.repeat}× per version[/bold] (database: {database})")
    live = await live_run(http, sessions, settings, n, options.senders)
    version = await edit_draft(http)
    us = sum(is_us(index) for index in range(n))
    draft = await replay_series(http, processes, {"version": "draft", "limit": n},
                                options.repeat, n, changed=us)
    published = await replay_series(http, processes, {"version": version, "limit": n},
                                    options.repeat, n, changed=0)
    failed = [f"live: {live['states']} (want {n} completed)"] \
        if live["states"] != {"completed": n} else []
    for name, series in ((f"draft ({EDITED_CONDITION})", draft), (f"v{version}", published)):
        failed += [f"replay {name}: {problem}" for problem in series["problems"]]
        if series["wall"] > options.target_s:
            failed.append(f"replay {name}: {series['wall']:.1f} s, over {options.target_s:g} s")
    print_table(n, live, version, draft, published, options.target_s)
    if options.profile:
        wall = await profiled_replay(http, processes, {"version": "draft", "limit": n},
                                     options.profile)
        console.print(f"py-spy profile of the worker during a {wall:.1f} s replay: "
                      f"{options.profile}")
    for problem in failed:
        console.print(f"[red]FAIL[/red] {problem}")
    console.print("[green]all checks passed[/green]" if not failed else "")
    return 1 if failed else 0


def print_table(n: int, live: dict[str, Any], version: int, draft: dict[str, Any],
                published: dict[str, Any], target_s: float) -> None:
    table = Table("measure", "figure", "vs live")
    table.add_row(f"live: {n} orders, POST /api/orders + wake (3-day sleep)",
                  f"{live['elapsed']:.1f} s · {n / live['elapsed']:,.1f} orders/s", "1.00")
    table.add_row("  to the sleep · after the wake · demo calls made",
                  f"{live['to_sleep']:.1f} s · {live['after_wake']:.1f} s · {live['calls']:,}", "")
    for label, series in ((f"replay draft (is_us: {EDITED_CONDITION})", draft),
                          (f"replay v{version} (unchanged)", published)):
        summary = series["summary"]
        table.add_row(f"[bold]{label}[/bold], client wall",
                      f"{series['wall']:.2f} s · {n / series['wall']:,.0f} orders/s",
                      f"{series['wall'] / live['elapsed']:.3f}")
        table.add_row("  elapsed_ms (worker) · runs", f"{series['elapsed_ms']:,.0f} ms · "
                      + " / ".join(f"{wall:.2f}" for wall in series["walls"]) + " s", "")
        cpu = series["cpu_ms"]
        table.add_row("  CPU per replayed order: worker · web",
                      f"{cpu['worker']:.2f} · {cpu['web']:.2f} ms", "")
        table.add_row("  same · changed · unrecorded · skipped",
                      " · ".join(str(summary.get(key, "?")) for key in
                                 ("same", "changed", "unrecorded", "skipped")), "")
        verdict = "[green]pass[/green]" if series["wall"] <= target_s else "[red]FAIL[/red]"
        table.add_row(f"  under {target_s:g} s", verdict, "")
    console.print(table)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
