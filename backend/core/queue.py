"""Redis with arq: JSON jobs carrying only ids, and deterministic job ids.

Wake-ups further away than DEFER_HORIZON (a 3-day sleep, a 7-day signal timeout) are not
put in Redis at all: the database keeps `wake_at` and the sweeper enqueues them when they
come near. Redis holds only what is due soon, and losing it loses nothing.

An order's activation job id is `order:<pk>:<wake ms>[:<lease ms>]`: enqueuing the same
wake-up twice (the API and the sweeper, say) makes one job, while a new wake-up, or a
recovery after a crashed worker's lease ran out, makes a new one. A killed worker's job
stays "in progress" in arq until its mark expires (JOB_TIMEOUT_S later); the sweeper, which
only looks at orders no live worker holds, then enqueues under a recovery id
(`...:r<now ms>`) instead of waiting for it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix

QUEUE = "waybill:queue"
DEFER_HORIZON = timedelta(minutes=5)
WAKE_CHANNEL = "waybill:wake"
ACTIVATE = "activate_order"


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=str).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    return json.loads(raw)


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


async def connect_redis(url: str) -> ArqRedis:
    return await create_pool(redis_settings(url), job_serializer=serialize,
                             job_deserializer=deserialize, default_queue_name=QUEUE)


def job_id(order_pk: int, wake_at: datetime | None, lease_until: datetime | None = None) -> str:
    wake = int(wake_at.timestamp() * 1000) if wake_at else 0
    suffix = f":{int(lease_until.timestamp() * 1000)}" if lease_until else ""
    return f"order:{order_pk}:{wake}{suffix}"


async def enqueue_activation(redis: ArqRedis, order_pk: int, wake_at: datetime | None,
                             lease_until: datetime | None = None, *,
                             recover: bool = False) -> bool:
    """Wake the order at `wake_at` (now when None or past; later ones are the sweeper's).
    With `recover`, a job of the same id held "in progress" by a dead worker is bypassed.
    True when a job was queued."""
    if wake_at is not None and wake_at > datetime.now(UTC) + DEFER_HORIZON:
        return False
    # arq rounds to the millisecond: round up, so that a job never fires before it is due
    defer = wake_at + timedelta(milliseconds=1) if wake_at else None
    wanted = job_id(order_pk, wake_at, lease_until)
    job = await redis.enqueue_job(ACTIVATE, order_pk, _job_id=wanted, _defer_until=defer)
    if job is None and recover and await redis.exists(in_progress_key_prefix + wanted):
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        job = await redis.enqueue_job(ACTIVATE, order_pk, _job_id=f"{wanted}:r{now_ms}",
                                      _defer_until=defer)
    if job is not None:  # idle workers pick it up now, or sleep until it is due
        await redis.publish(WAKE_CHANNEL, b"")
    return job is not None
