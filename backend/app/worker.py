"""`waybill worker`: arq with JSON jobs, one shared HTTP client, the sweeper, the batch loop and
the schedules' ticker."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

import prometheus_client
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker, func
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from backend.core import db
from backend.core.config import Settings, get_settings
from backend.core.queue import (
    ACTIVATE,
    QUEUE,
    REPLAY,
    WAKE_CHANNEL,
    connect_redis,
    deserialize,
    redis_settings,
    serialize,
)
from backend.engine import expressions, functions
from backend.orders.dispatch import batch_loop, sweep, sweep_loop
from backend.orders.outbound import make_caller
from backend.orders.runner import Runner
from backend.orders.tasks import activate_order
from backend.replay import service as replay_service
from backend.schedules.ticker import schedule_loop


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.setdefault("settings", get_settings())
    functions.load_modules(settings.function_modules)
    expressions.refresh_functions()
    # what startup opens is closed by shutdown, or here if startup fails part way (arq does
    # not call on_shutdown then, and a half-opened engine would leak its connections)
    async with contextlib.AsyncExitStack() as opened:
        engine = db.make_engine(settings.resolved_database_url)
        opened.push_async_callback(engine.dispose)
        await db.upgrade(engine)
        caller = make_caller(transport=settings.http_transport, allow=settings.outbound_allow,
                             max_response_bytes=settings.max_response_bytes)
        opened.push_async_callback(caller.aclose)
        redis = await connect_redis(settings.redis_url)
        opened.push_async_callback(redis.aclose)
        runner = Runner(db.make_sessionmaker(engine), redis, caller, settings)
        if settings.worker_metrics_port:
            prometheus_client.start_http_server(settings.worker_metrics_port, addr="127.0.0.1")
        await sweep(runner.sessions, runner.redis, settings)
        ctx.update(engine=engine, caller=caller, runner=runner, opened=opened.pop_all(),
                   tasks=[])
    if ctx.get("loops", True):
        ctx["tasks"] = [asyncio.create_task(sweep_loop(runner, settings)),
                        asyncio.create_task(batch_loop(runner, settings)),
                        asyncio.create_task(schedule_loop(runner, settings))]


async def shutdown(ctx: dict[str, Any]) -> None:
    for task in ctx.get("tasks", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if "opened" in ctx:
        await ctx["opened"].aclose()


class WorkerSettings:
    """For `arq backend.app.worker.WorkerSettings`; `waybill worker` adds the settings-driven parts."""

    functions = [func(activate_order, name=ACTIVATE, max_tries=1000),
                 # a replay answers a waiting request: kept a minute, never run twice
                 func(replay_service.replay_job, name=REPLAY, max_tries=1, keep_result=60,
                      timeout=replay_service.BUDGET_S + 20)]
    queue_name = QUEUE
    on_startup = startup
    on_shutdown = shutdown
    job_serializer = staticmethod(serialize)
    job_deserializer = staticmethod(deserialize)
    keep_result = 0


# a job is claimed if no worker has it in progress and it is still queued and due: the
# in-progress mark is set in the same step (arq does this with WATCH and MULTI/EXEC)
_CLAIM = AsyncScript(cast(Any, None), b"""
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('PSETEX', KEYS[1], ARGV[3], '1')
return score
""")


class WakeableWorker(Worker):
    """An arq worker that sleeps between polls while it has nothing to do, and wakes at once
    when a job is enqueued (`queue.enqueue_activation` publishes on WAKE_CHANNEL), when one of
    its jobs ends, or when the next deferred job in the queue is due. A webhook's first step
    starts within milliseconds, a retry or a short sleep fires on time, and an idle worker
    asks Redis about twice every `idle_poll_s` instead of 20 times a second."""

    def __init__(self, *args: Any, idle_poll_s: float, redis_url: str, **kwargs: Any) -> None:
        super().__init__(*args, poll_delay=0, **kwargs)
        self.idle_poll_s = idle_poll_s
        self.redis_url = redis_url
        self.wake = asyncio.Event()
        self.idle = False

    async def main(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            await super().main()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        redis = Redis.from_url(self.redis_url)
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(WAKE_CHANNEL)
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self.wake.set()
        finally:
            await redis.aclose()

    async def _poll_iteration(self) -> None:
        if self.idle or self.job_counter >= self.max_jobs:
            timeout = await self._until_next_job()  # before the wait exists: cancellable
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands as
            # the wake-up comes (gh-86296), and the worker would then never stop
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.wake.wait()
        self.wake.clear()
        await super()._poll_iteration()

    async def _until_next_job(self) -> float:
        """Seconds until the earliest deferred job is due, at most `idle_poll_s`."""
        if self.job_counter >= self.max_jobs:
            return self.idle_poll_s  # a job ending wakes us
        now = timestamp_ms()
        head = await self.pool.zrangebyscore(self.queue_name, min=now + 1, max=float("inf"),
                                             start=0, num=1, withscores=True)
        if not head:
            return self.idle_poll_s
        return min(max((head[0][1] - now) / 1000, 0.0), self.idle_poll_s)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's `start_jobs`, claiming each job in one round trip (a script) instead of four
        (WATCH, EXISTS, ZSCORE, MULTI/PSETEX/EXEC). arq reads the head of the queue each poll,
        including the jobs this worker is running (they stay queued until done): those are
        skipped without asking Redis, which made the arq overhead grow with CONCURRENCY."""
        self.idle = len(job_ids) < self.queue_read_limit
        for job_id in (job.decode() for job in job_ids):
            if job_id in self.tasks:
                continue
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs:
                self.sem.release()
                return
            self.job_counter += 1
            score = await _CLAIM([in_progress_key_prefix + job_id, self.queue_name],
                                 [job_id, timestamp_ms(), int(self.in_progress_timeout_s * 1000)],
                                 client=self.pool)
            if score is None:  # started elsewhere, finished, or deferred again meanwhile
                self.job_counter -= 1
                self.sem.release()
                continue
            task = self.loop.create_task(self.run_job(job_id, int(float(score))))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task

    async def run_job(self, job_id: str, score: int) -> None:
        try:
            await super().run_job(job_id, score)
        finally:
            self.wake.set()


def make_worker(settings: Settings | None = None, *, burst: bool = False,
                loops: bool = True) -> Worker:
    settings = settings or get_settings()
    static = {key: value for key, value in vars(WorkerSettings).items() if not key.startswith("_")}
    return WakeableWorker(
        **static,
        redis_settings=redis_settings(settings.redis_url),
        redis_url=settings.redis_url,
        ctx={"settings": settings, "loops": loops},
        max_jobs=settings.concurrency,
        job_timeout=settings.job_timeout_s,
        idle_poll_s=settings.poll_delay_s,
        burst=burst,
        handle_signals=not burst,
    )
