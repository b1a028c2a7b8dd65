"""`waybill worker`: arq with JSON jobs, one shared HTTP client, the sweeper and the batch loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq.worker import Worker, func

from backend import db
from backend.config import Settings, get_settings
from backend.engine import expressions, functions
from backend.engine.http import HttpCaller, OutboundPolicy, make_client
from backend.orders.dispatch import batch_loop, sweep, sweep_loop
from backend.orders.runner import Runner
from backend.orders.tasks import activate_order
from backend.queue import ACTIVATE, QUEUE, connect_redis, deserialize, redis_settings, serialize


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.setdefault("settings", get_settings())
    functions.load_modules(settings.function_modules)
    expressions.refresh_functions()
    engine = db.make_engine(settings.resolved_database_url)
    await db.upgrade(engine)
    client = make_client(settings.http_transport)
    caller = HttpCaller(client, OutboundPolicy(settings.outbound_allow), settings.max_response_bytes)
    runner = Runner(db.make_sessionmaker(engine), await connect_redis(settings.redis_url), caller,
                    settings)
    ctx.update(engine=engine, client=client, runner=runner, tasks=[])
    await sweep(runner.sessions, runner.redis, settings)
    if ctx.get("loops", True):
        ctx["tasks"] = [asyncio.create_task(sweep_loop(runner, settings)),
                        asyncio.create_task(batch_loop(runner, settings))]


async def shutdown(ctx: dict[str, Any]) -> None:
    for task in ctx.get("tasks", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await ctx["runner"].redis.aclose()
    await ctx["client"].aclose()
    await ctx["engine"].dispose()


class WorkerSettings:
    """For `arq backend.worker.WorkerSettings`; `waybill worker` adds the settings-driven parts."""

    functions = [func(activate_order, name=ACTIVATE, max_tries=1000)]
    queue_name = QUEUE
    on_startup = startup
    on_shutdown = shutdown
    job_serializer = staticmethod(serialize)
    job_deserializer = staticmethod(deserialize)
    keep_result = 0


def make_worker(settings: Settings | None = None, *, burst: bool = False,
                loops: bool = True) -> Worker:
    settings = settings or get_settings()
    static = {key: value for key, value in vars(WorkerSettings).items() if not key.startswith("_")}
    return Worker(
        **static,
        redis_settings=redis_settings(settings.redis_url),
        ctx={"settings": settings, "loops": loops},
        max_jobs=settings.concurrency,
        job_timeout=settings.job_timeout_s,
        poll_delay=settings.poll_delay_s,
        burst=burst,
        handle_signals=not burst,
    )
