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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import (
    expires_extra_ms,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
)
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

QUEUE = "waybill:queue"
DEFER_HORIZON = timedelta(minutes=5)
WAKE_CHANNEL = "waybill:wake"
REPLAY = "replay"  # the replay lab (backend.replay.service)
ACTIVATE = "activate_order"


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=str).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    return json.loads(raw)


# arq gives a connection 1 s to open; on a loaded 2-core box a loopback connect can take
# longer, and a pool opens new connections while it runs (not only at start, where arq retries)
CONNECT_TIMEOUT_S = 5


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = CONNECT_TIMEOUT_S
    return settings


async def connect_redis(url: str) -> ArqRedis:
    return await create_pool(redis_settings(url), job_serializer=serialize,
                             job_deserializer=deserialize, default_queue_name=QUEUE)


# arq's `enqueue_job` in one round trip, and the wake-up with it: arq WATCHes the job key,
# checks it, then MULTI/EXECs (three round trips) and the wake-up was a fourth. With a
# recovery id (ARGV[5]), a job that a dead worker holds "in progress" under the wanted id is
# bypassed by queueing the recovery id instead. No client is bound to the script: each call
# names its own (a connection, or a pipeline of many calls)
_ENQUEUE = AsyncScript(cast(Any, None), b"""
local job = ARGV[4]
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
  if ARGV[5] == '' or redis.call('EXISTS', KEYS[5]) == 0 then return 0 end
  if redis.call('EXISTS', KEYS[6], KEYS[7]) > 0 then return 0 end
  KEYS[1], job = KEYS[6], ARGV[5]
end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], job)
redis.call('PUBLISH', KEYS[4], '')
return 1
""")


@dataclass(frozen=True)
class Wake:
    """An order to activate at `at` (now when None or past), its lease as it ran out (a dead
    worker's: part of the job id, so that the recovery is a new job)."""

    order_pk: int
    at: datetime | None = None
    lease_until: datetime | None = None


async def _enqueue(client: ArqRedis | Pipeline, wake: Wake, recover: bool) -> Any:
    """Queue the activation job of `wake` unless one of its id is queued, running or kept
    (with `recover`: unless it is running on a live worker). On a pipeline, queued with it."""
    now_ms = timestamp_ms()
    # arq rounds to the millisecond: round up, so that a job never fires before it is due
    score = to_unix_ms(wake.at + timedelta(milliseconds=1)) if wake.at is not None else now_ms
    expires_ms = score - now_ms + expires_extra_ms
    payload = serialize_job(ACTIVATE, (wake.order_pk,), {}, None, now_ms, serializer=serialize)
    job = job_id(wake.order_pk, wake.at, wake.lease_until)
    again = f"{job}:r{now_ms}" if recover else ""
    keys = [job_key_prefix + job, result_key_prefix + job, QUEUE, WAKE_CHANNEL,
            in_progress_key_prefix + job, job_key_prefix + again, result_key_prefix + again]
    return await _ENQUEUE(keys, [max(expires_ms, 1), payload, score, job, again], client=client)


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
    return bool(await _enqueue(redis, Wake(order_pk, wake_at, lease_until), recover))


async def enqueue_activations(redis: ArqRedis, wakes: list[Wake], *, recover: bool = False) -> int:
    """`enqueue_activation` for many orders in one round trip; how many jobs were queued."""
    horizon = datetime.now(UTC) + DEFER_HORIZON
    wanted = [wake for wake in wakes if wake.at is None or wake.at <= horizon]
    if not wanted:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for wake in wanted:
            await _enqueue(pipe, wake, recover)
        return sum(await pipe.execute())
