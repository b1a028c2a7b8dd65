"""The sweeper (a lost Redis loses no order) and the seed's batch loop."""

from __future__ import annotations

import asyncio
import logging

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.queue import Wake, enqueue_activations
from backend.core.writer import read
from backend.orders import concurrency
from backend.orders.models import Order, OrderState
from backend.orders.runner import Runner
from backend.orders.service import due_orders

log = logging.getLogger(__name__)
BATCH_LOCK = "waybill:batch-lock"


async def sweep(sessions: async_sessionmaker[AsyncSession], redis: ArqRedis,
                settings: Settings) -> int:
    """Enqueue every active order whose wake-up has passed and that no live worker holds
    (no lease, or one that ran out), bypassing jobs a dead worker left "in progress"."""
    async with sessions() as session:
        orders = await due_orders(session=session, settings=settings)
    engine = sessions.kw["bind"]  # keys whose admission a killed worker did not get to
    await concurrency.admit_queued(engine, redis, await read(engine, concurrency.queued_keys))
    now = utcnow()
    # one round trip for all: under load, every queued order is due and most have their job
    await enqueue_activations(redis, [
        Wake(order_pk, wake_at, lease_until if lease_until and lease_until < now else None)
        for order_pk, wake_at, lease_until in orders], recover=True)
    return len(orders)


async def claim_batch(sessions: async_sessionmaker[AsyncSession], size: int) -> list[int]:
    """Up to `size` pending batch orders, oldest first."""
    async with sessions() as session:
        rows = await session.exec(select(Order.id).where(
            Order.dispatch == "batch", Order.state == OrderState.pending,
        ).order_by(col(Order.id)).limit(size))
        return [order_pk for order_pk in rows if order_pk is not None]


async def run_batch(runner: Runner, settings: Settings) -> int:
    """One batch: claim up to BATCH_SIZE, run CONCURRENCY at a time, wait for all."""
    order_pks = await claim_batch(runner.sessions, settings.batch_size)
    limit = asyncio.Semaphore(settings.concurrency)

    async def run(order_pk: int) -> None:
        async with limit:
            await runner.activate(order_pk)

    await asyncio.gather(*(run(order_pk) for order_pk in order_pks))
    return len(order_pks)


async def batch_loop(runner: Runner, settings: Settings) -> None:
    """Every BATCH_INTERVAL_S after the previous batch finished; one batch cluster-wide."""
    while True:
        try:
            lock = runner.redis.lock(BATCH_LOCK, timeout=settings.job_timeout_s, blocking=False)
            if await lock.acquire():
                try:
                    await run_batch(runner, settings)
                finally:
                    await lock.release()
        except Exception:  # a broken batch must not stop the loop
            log.exception("batch failed")
        await asyncio.sleep(settings.batch_interval_s)


async def sweep_loop(runner: Runner, settings: Settings) -> None:
    while True:
        try:
            await sweep(runner.sessions, runner.redis, settings)
        except Exception:
            log.exception("sweep failed")
        await asyncio.sleep(settings.sweep_interval_s)
