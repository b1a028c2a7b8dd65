"""The dashboard's step figures of the last hour: the slowest steps (p95 and mean of
finished - started per blueprint and node) and the most-failing ones (failed attempts, with
the share of finished runs that failed). Test runs and older step runs are left out."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col

from backend.core.db import utcnow
from backend.orders import stats
from backend.orders.models import Order, StepRun
from tests.orders.builders import FAST_RETRY, demo_call, linear, node

RECENT = timedelta(minutes=10)


def _runs(order_pk: int, node_id: str, took_ms: list[int], status: str = "completed",
          started: datetime | None = None) -> list[StepRun]:
    started = started or utcnow() - RECENT
    return [StepRun(order_pk=order_pk, node=node_id, status=status, started_at=started,
                    finished_at=started + timedelta(milliseconds=ms)) for ms in took_ms]


async def _order(session, order_id: str, blueprint: str, test: bool = False) -> int:
    order = Order(order_id=order_id, blueprint_id=blueprint, version=1, test=test,
                  state="completed")
    session.add(order)
    await session.flush()
    assert order.id is not None
    return order.id


async def test_p95_mean_and_failure_rate_per_blueprint_and_node(sessions) -> None:
    async with sessions() as session:
        real = await _order(session, "o-1", "shop")
        other = await _order(session, "o-2", "returns")
        trial = await _order(session, "t-1", "shop", test=True)
        session.add_all([
            *_runs(real, "charge", list(range(1, 21))),  # 1..20 ms: p95 (nearest rank) 19
            *_runs(real, "charge", [5, 7], status="failed"),
            *_runs(real, "charge", [3], status="retrying"),
            *_runs(real, "wait", [90_000], status="sleeping"),  # a sleep is not slow
            *_runs(real, "charge", [60_000], started=utcnow() - timedelta(minutes=61)),
            *_runs(trial, "charge", [50_000], status="failed"),  # test runs are left out
            *_runs(other, "label", [40, 40, 40]),
            *_runs(other, "label", [30], status="failed"),
        ])
        await session.commit()

        slowest = await stats.slowest_steps(session=session, ttl_s=0)
        assert [(s.blueprint, s.node, s.runs, s.p95_ms) for s in slowest] == [
            ("returns", "label", 4, 40.0), ("shop", "charge", 23, 19.0)]
        assert abs(slowest[1].avg_ms - (210 + 5 + 7 + 3) / 23) < 0.2

        failing = await stats.failing_steps(session=session, ttl_s=0)
        assert [(f.blueprint, f.node, f.failed, f.completed, f.retried) for f in failing] == [
            ("shop", "charge", 2, 20, 1), ("returns", "label", 1, 3, 0)]
        assert failing[0].failure_rate == 2 / 22 and failing[1].failure_rate == 0.25

        only = await stats.failing_steps(session=session, blueprint="returns", ttl_s=0)
        assert [f.node for f in only] == ["label"]
        later = utcnow() + timedelta(hours=2)  # an hour on, nothing is recent
        assert await stats.slowest_steps(session=session, now=later, ttl_s=0) == []
        assert await stats.failing_steps(session=session, now=later, ttl_s=0) == []


async def test_figures_of_real_runs_in_the_stats_api(api_call, published, create_order,
                                                     run_worker, live_client) -> None:
    await api_call(demo_call("slow-call", "/responses?delay_ms=120"))
    await api_call(demo_call("maybe-call", "/responses?fail={{ input.fail }}",
                             retry={**FAST_RETRY, "max_attempts": 2}))
    await published(linear("figures", node("slow", "api_call", api_call="slow-call"),
                           node("maybe", "api_call", api_call="maybe-call")))
    for order_id, fail in (("f-1", "always"), ("f-2", "0"), ("f-3", "0")):
        await create_order(order_id, "figures", {"fail": fail})
    await run_worker()

    answer = await live_client.get("/api/stats/orders", params={"blueprint": "figures"})
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    slow = figures["slowest_steps"][0]
    assert (slow["blueprint"], slow["node"], slow["runs"]) == ("figures", "slow", 3)
    assert slow["p95_ms"] >= 120 and slow["avg_ms"] >= 120
    [maybe] = figures["failing_steps"]
    assert (maybe["node"], maybe["failed"], maybe["completed"], maybe["retried"]) == (
        "maybe", 1, 2, 1)
    assert abs(maybe["failure_rate"] - 1 / 3) < 1e-9


async def test_orders_finished_in_one_minute_count_together(client, sessions) -> None:
    """The per-minute chart buckets by whole minutes: orders that finished at different
    seconds of the same minute add up, they do not overwrite each other."""
    made = await client.post("/api/blueprints", json=linear("per-minute"))
    assert made.status_code == 201, made.text
    published = await client.post("/api/blueprints/per-minute/publish")
    assert published.status_code == 201, published.text
    now = utcnow()
    minute = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
    finished = {"m-1": ("completed", 1), "m-2": ("completed", 17), "m-3": ("failed", 31),
                "m-4": ("completed", 59), "m-5": ("failed", 2)}
    for order_id in finished:
        answer = await client.post("/api/orders", json={"order_id": order_id,
                                                        "blueprint": "per-minute", "input": {}})
        assert answer.status_code == 201, answer.text
    async with sessions() as session:
        for order_id, (state, second) in finished.items():
            await session.exec(update(Order).where(col(Order.order_id) == order_id).values(
                state=state, updated_at=minute + timedelta(seconds=second, microseconds=250)))
        await session.commit()

        buckets = await stats.throughput(session=session, blueprint="per-minute", now=now, ttl_s=0)
    assert len(buckets) == stats.WINDOW_MINUTES
    [hit] = [bucket for bucket in buckets if bucket.completed or bucket.failed]
    assert hit.at == minute
    assert (hit.completed, hit.failed) == (3, 2)
    assert sum(b.completed for b in buckets) == 3 and sum(b.failed for b in buckets) == 2
