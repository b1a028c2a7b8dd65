"""Orders list benchmark: a million orders, then how fast the pages and the API answer.

Fills a database with `--orders` orders (default 1,000,000; Core `insert` executemany in
chunks, step runs for a small sample only), then times, in process (the ASGI app through
httpx, no network), each request `--runs` times and prints p50/p95 in milliseconds:

- the `/orders` page and `GET /api/orders`: first page, a deep page (a cursor near the oldest
  orders), with and without filters (state=failed, blueprint=..., failed_node, order id prefix);
- the dashboard `/`, `GET /api/stats/orders`, the `/blueprints` list, one order's timeline;
- the count and throughput queries alone, uncached (what a live page costs per refresh
  without the short cache in `backend.orders.stats`);
- the query plans of the list and count queries.

Pages are timed "cold" (the counts cache emptied before every request) unless noted.

SQLite (a temporary file) by default; PostgreSQL when DATABASE_URL is set (it must point to
an empty database of its own: the bench refuses one that already has orders, unless
`--reuse`, which times the orders already there).

Run: `.venv/bin/python bench/orders_list.py [--orders 1000000] [--runs 30]`. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.app.main import create_app  # noqa: E402
from backend.core.config import Settings, normalise_database_url  # noqa: E402
from backend.orders import stats  # noqa: E402
from backend.orders.models import Order, StepRun  # noqa: E402
from backend.orders.schemas import OrderFilter  # noqa: E402
from backend.orders.service import _filtered, encode_cursor  # noqa: E402

ORDERS = Order.__table__  # type: ignore[attr-defined]
STEPS = StepRun.__table__  # type: ignore[attr-defined]
CHUNK = 20_000
STATES = [("completed", 0.88), ("failed", 0.04), ("cancelled", 0.01), ("sleeping", 0.05),
          ("waiting", 0.005), ("pending", 0.01), ("retrying", 0.003), ("running", 0.002)]
BLUEPRINTS = [("returns-approved", 0.55), ("order-state-manager", 0.40), ("bench-other", 0.05)]
FAILED_AT = {"returns-approved": "create_return", "order-state-manager": "process_order",
             "bench-other": "call"}
NODES = {"returns-approved": ["start", "generate_response", "is_us", "us_label", "create_return"],
         "order-state-manager": ["start", "create_order", "get_items", "first_item",
                                 "process_order"],
         "bench-other": ["start", "call"]}


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    roll, total = rng.random(), 0.0
    for value, weight in table:
        total += weight
        if roll < total:
            return value
    return table[-1][0]


def order_row(n: int, total: int, now: datetime, rng: random.Random) -> dict[str, Any]:
    """Order number n (1 = oldest): created over the last 30 days; the newest hour's
    finished orders spread over that hour, for the throughput chart."""
    blueprint = _pick(rng, BLUEPRINTS)
    state = _pick(rng, STATES)
    created = now - timedelta(days=30) * (1 - n / total) - timedelta(minutes=2)
    updated = created + timedelta(seconds=rng.uniform(0.05, 3))
    failed = state == "failed"
    nodes = NODES[blueprint]
    return {
        "order_id": f"ord-{n:07d}", "blueprint_id": blueprint, "version": 1,
        "test": rng.random() < 0.005, "mock": False, "dispatch": "immediate",
        "definition": None, "state": state,
        "input": {"ticket_id": str(100000 + n), "country": rng.choice(["US", "CA"]),
                  "order_id": str(n)},
        "vars": {"return_id": f"ret_{n}", "tracking_number": f"94{n:012d}"},
        "result": "return_and_refund_processed" if state == "completed" else None,
        "error": {"code": "http_status", "message": "HTTP 500", "node": FAILED_AT[blueprint],
                  "attempt": 5} if failed else None,
        "current_node": FAILED_AT[blueprint] if failed else rng.choice(nodes),
        "attempt": 5 if failed else 1, "failed_node": FAILED_AT[blueprint] if failed else None,
        "wake_at": now + timedelta(days=2) if state == "sleeping" else None,
        "lease_owner": None, "lease_until": None, "created_at": created, "updated_at": updated,
    }


def step_rows(order_pk: int, blueprint: str, started: datetime) -> list[dict[str, Any]]:
    rows = []
    for i, node in enumerate(NODES[blueprint]):
        at = started + timedelta(milliseconds=20 * i)
        rows.append({"order_pk": order_pk, "node": node, "attempt": 1, "status": "completed",
                     "started_at": at, "finished_at": at + timedelta(milliseconds=15),
                     "request": {"method": "POST", "url": f"https://api.example/{node}",
                                 "headers": {"Idempotency-Key": f"{order_pk}:{node}"}},
                     "response": {"status": 200, "body": {"ok": True}}, "saved": None,
                     "error": None})
    return rows


async def fill(engine: Any, total: int) -> float:
    """Insert `total` orders (and step runs for 2,000 of them); seconds taken."""
    rng, now, started = random.Random(7), datetime.now(UTC), time.perf_counter()
    async with engine.begin() as connection:
        for first in range(1, total + 1, CHUNK):
            rows = [order_row(n, total, now, rng) for n in range(first, min(first + CHUNK, total + 1))]
            await connection.execute(insert(ORDERS), rows)
            if first // CHUNK % 10 == 0:
                print(f"  {first + len(rows) - 1:>9,} orders", flush=True)
    # the last hour: make the newest finished orders finish across it
    async with engine.begin() as connection:
        recent = (await connection.execute(
            select(ORDERS.c.id).where(ORDERS.c.state.in_(["completed", "failed"]))
            .order_by(ORDERS.c.id.desc()).limit(6000))).scalars().all()
        for i, order_pk in enumerate(recent):
            moment = now - timedelta(seconds=3600 * i / len(recent))
            await connection.execute(ORDERS.update().where(ORDERS.c.id == order_pk)
                                     .values(updated_at=moment))
        sample = (await connection.execute(select(ORDERS.c.id, ORDERS.c.blueprint_id)
                                           .order_by(ORDERS.c.id.desc()).limit(2000))).all()
        steps = [row for pk, bp in sample for row in step_rows(pk, bp, now)]
        await connection.execute(insert(STEPS), steps)
    return time.perf_counter() - started


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):8.1f} ms   p95 {p95:8.1f} ms"


async def timed(runs: int, work: Callable[[], Awaitable[Any]], cold: bool = True) -> list[float]:
    await work()  # warm-up: connection, template compile
    samples = []
    for _ in range(runs):
        if cold:
            stats._cache.clear()
        began = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def bench_requests(client: httpx.AsyncClient, runs: int, deep: str, order_id: str) -> None:
    async def get(url: str, headers: dict[str, str]) -> None:
        answer = await client.get(url, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:160]}")

    cases = [
        ("/orders page, first", "/orders"),
        ("/orders page, deep", f"/orders?cursor={deep}"),
        ("/orders page, state=failed", "/orders?state=failed"),
        ("/orders page, state=failed deep", f"/orders?state=failed&cursor={deep}"),
        ("/orders page, blueprint", "/orders?blueprint=order-state-manager"),
        ("/orders page, blueprint deep", f"/orders?blueprint=order-state-manager&cursor={deep}"),
        ("/orders page, blueprint+failed", "/orders?blueprint=bench-other&state=failed"),
        ("/orders page, order id prefix", "/orders?order_id=ord-00012"),
        ("/orders fragment (live refresh)", "/orders?state=failed"),
        ("GET /api/orders, first", "/api/orders"),
        ("GET /api/orders, deep", f"/api/orders?cursor={deep}"),
        ("GET /api/orders, state=failed", "/api/orders?state=failed"),
        ("GET /api/orders, state=failed deep", f"/api/orders?state=failed&cursor={deep}"),
        ("GET /api/orders, blueprint", "/api/orders?blueprint=order-state-manager"),
        ("GET /api/orders, blueprint deep", f"/api/orders?blueprint=order-state-manager&cursor={deep}"),
        ("GET /api/orders, failed_node", "/api/orders?failed_node=process_order"),
        ("GET /api/orders, test runs", "/api/orders?test=true"),
        ("dashboard /", "/"),
        ("GET /api/stats/orders", "/api/stats/orders"),
        ("/blueprints list", "/blueprints"),
        ("/orders/{id} timeline", f"/orders/{order_id}"),
    ]
    print(f"\nrequests ({runs} runs each, counts cache emptied before each):")
    for label, url in cases:
        headers = {"HX-Request": "true"} if "fragment" in label else {}
        try:
            figures = summary(await timed(runs, partial(get, url, headers)))
        except RuntimeError as exc:
            figures = f"not timed: {exc}"
        print(f"  {label:<40} {figures}")
    warm = await timed(runs, lambda: get("/orders?state=failed", {}), cold=False)
    print(f"  {'/orders page, state=failed, warm cache':<40} {summary(warm)}")

    async def preview(where: dict[str, Any]) -> None:
        body = {"filter": where, "from": "failed", "dry_run": True}
        answer = await client.post("/api/orders/reprocess", json=body)
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:160]}")

    for label, where in [("reprocess dry run, state=failed", {"state": "failed"}),
                         ("reprocess dry run, rare blueprint", {"blueprint": "bench-other",
                                                                "state": "failed"})]:
        print(f"  {label:<40} {summary(await timed(max(3, runs // 6), partial(preview, where)))}")


async def bench_queries(sessions: Any, runs: int) -> None:
    print("\nqueries alone (uncached):")
    async with sessions() as session:
        for label, where in [("counts, all real orders", OrderFilter()),
                             ("counts, blueprint", OrderFilter(blueprint="order-state-manager")),
                             ("counts, blueprint rare", OrderFilter(blueprint="bench-other")),
                             ("counts, order id prefix", OrderFilter(order_id="ord-00012"))]:
            samples = await timed(runs, partial(stats.counts_by_state, session=session,
                                                where=where, ttl_s=0))
            print(f"  {label:<40} {summary(samples)}")
        samples = await timed(runs, lambda: stats.throughput(session=session, ttl_s=0))
        print(f"  {'throughput, last hour':<40} {summary(samples)}")
        samples = await timed(runs, lambda: stats.recent_failures(session=session))
        print(f"  {'recent failures':<40} {summary(samples)}")


async def show_plans(engine: Any) -> None:
    dialect = engine.dialect.name
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    queries = {
        "list, state=failed": _filtered(select(ORDERS.c.id), OrderFilter(state="failed"))
        .order_by(ORDERS.c.id.desc()).limit(51),
        "list, blueprint": _filtered(select(ORDERS.c.id), OrderFilter(blueprint="bench-other"))
        .order_by(ORDERS.c.id.desc()).limit(51),
        "counts, all": _filtered(select(ORDERS.c.blueprint_id, ORDERS.c.state, func.count()),
                                 OrderFilter()).group_by(ORDERS.c.blueprint_id, ORDERS.c.state),
        "counts, blueprint": _filtered(select(ORDERS.c.blueprint_id, ORDERS.c.state, func.count()),
                                       OrderFilter(blueprint="bench-other"))
        .group_by(ORDERS.c.blueprint_id, ORDERS.c.state),
    }
    print("\nquery plans:")
    async with engine.connect() as connection:
        for label, query in queries.items():
            compiled = query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
            rows = (await connection.execute(text(explain + str(compiled)))).all()
            plan = " | ".join(str(row[-1]) for row in rows)
            print(f"  {label:<22} {plan[:200]}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="time the orders already there")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="waybill-bench-"))
    url = normalise_database_url(os.environ.get("DATABASE_URL", "")) or \
        f"sqlite+aiosqlite:///{folder / 'orders.db'}"
    settings = Settings(_env_file=None, database_url=url, redis_url="", data_dir=folder / "data",  # type: ignore[call-arg]
                        secret_key="bench", load_examples=True)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state = app.state.waybill
        async with state.sessions() as session:
            existing = (await session.exec(select(func.count()).select_from(ORDERS))).one()[0]
        print(f"database: {state.engine.dialect.name} ({url.split('@')[-1]})")
        if existing and not args.reuse:
            sys.exit(f"the database already has {existing:,} orders: use an empty one or --reuse")
        if not existing:
            print(f"inserting {args.orders:,} orders…")
            seconds = await fill(state.engine, args.orders)
            print(f"inserted in {seconds:.1f} s ({args.orders / seconds:,.0f} orders/s)")
        async with state.engine.connect() as connection:  # fresh statistics, as in steady state
            if state.engine.dialect.name == "sqlite":
                await connection.execute(text("ANALYZE"))
                await connection.commit()
            else:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE orders"))
        async with state.sessions() as session:
            oldest = (await session.exec(select(func.min(ORDERS.c.id)))).one()[0]
            newest = (await session.exec(select(ORDERS.c.order_id).order_by(ORDERS.c.id.desc())
                                         .limit(1))).one()[0]
        deep = encode_cursor(oldest + 5000)  # ~5,000 orders from the oldest: the last pages
        await show_plans(state.engine)
        await bench_queries(state.sessions, args.runs)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await bench_requests(client, args.runs, deep, newest)
    if url.startswith("sqlite"):
        size = (folder / "orders.db").stat().st_size / 1e6
        print(f"\nSQLite file: {size:,.0f} MB in {folder}")


if __name__ == "__main__":
    asyncio.run(main())
