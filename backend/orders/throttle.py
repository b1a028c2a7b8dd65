"""Per-API-call rate limits and in-flight caps, shared by every worker through Redis.

An API call may set `rate_limit` (`per_s`, `burst`) and `max_in_flight`. Before a call is
sent, `Limiter.admit` asks Redis, in one script per limit, for a slot:

- **Rate**: a token bucket (`burst` tokens, refilled at `per_s`), so that in any window of
  `t` seconds at most `burst + per_s * t` requests leave, whichever worker sends them. A
  request refused is given a place in line (one `1 / per_s` after the last place given), so
  a crowd of waiters wakes spread out rather than all at the next token; at its time it asks
  again, and a newcomer that finds a token first may go ahead of it.
- **In flight**: a sorted set of the calls being sent, each with an expiry (its timeout and
  a margin), so that a worker killed mid-call frees its slot by itself.

Both read Redis's clock (`TIME`), the one clock every worker shares. A refused call raises
`Throttled`: the walker parks the step as `throttled` with a deferred wake-up (never a sleep
inside the worker), without spending an attempt. Redis flushed or restarted: the limits
start afresh, which can let one extra burst through and never blocks an order.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from backend.engine.errors import Throttled
from backend.engine.format import ApiCallSpec

IN_FLIGHT_MARGIN_S = 5.0  # beyond the call's own timeout, before a dead worker's slot frees
IN_FLIGHT_RETRY_S = (0.05, 0.25)  # a refused call looks again after a random pause in this range

# KEYS[1]: the bucket (a hash: tokens, ts, tail); ARGV: per_s, burst. Answers 0 (take the
# token and go) or the milliseconds to wait for a place in line.
_RATE = AsyncScript(cast(Any, None), b"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local per_ms, burst = tonumber(ARGV[1]) / 1000, tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'tail')
local refill = math.max(0, now - (tonumber(b[2]) or now)) * per_ms
local tokens = math.min(burst, (tonumber(b[1]) or burst) + refill)
local tail = math.max(tonumber(b[3]) or now, now)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  tail = tail + 1 / per_ms
  wait = math.max(tail - now, (1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now), 'tail', tostring(tail))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / per_ms + (tail - now)) + 1000)
return math.ceil(wait)
""")

# KEYS[1]: the calls in flight (member: holder, score: expiry ms); ARGV: holder, limit, ttl ms.
# Answers 1 when the holder got a slot.
_IN_FLIGHT = AsyncScript(cast(Any, None), b"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
""")


def rate_key(api_call_id: str) -> str:
    return f"waybill:rate:{api_call_id}"


def in_flight_key(api_call_id: str) -> str:
    return f"waybill:in-flight:{api_call_id}"


class Limiter:
    """The limits of API calls, kept in Redis for every worker at once."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @contextlib.asynccontextmanager
    async def admit(self, spec: ApiCallSpec) -> AsyncIterator[None]:
        """Hold a slot of `spec`'s limits while the call is sent; `Throttled` when there is
        none now. An API call without limits costs no round trip."""
        holder = None
        if spec.max_in_flight is not None:
            holder = uuid.uuid4().hex
            ttl_ms = int((spec.timeout_s + IN_FLIGHT_MARGIN_S) * 1000)
            got = await _IN_FLIGHT([in_flight_key(spec.id)], [holder, spec.max_in_flight, ttl_ms],
                                   client=self.redis)
            if not got:
                raise Throttled("max_in_flight", random.uniform(*IN_FLIGHT_RETRY_S),
                                f"{spec.max_in_flight} call(s) of {spec.id!r} already in flight")
        try:
            if spec.rate_limit is not None:
                wait_ms = await _RATE([rate_key(spec.id)],
                                      [spec.rate_limit.per_s, spec.rate_limit.burst],
                                      client=self.redis)
                if wait_ms > 0:
                    raise Throttled("rate_limit", wait_ms / 1000,
                                    f"{spec.id!r} allows {spec.rate_limit.per_s:g} calls a second")
            yield
        finally:
            if holder is not None:
                await self.redis.zrem(in_flight_key(spec.id), holder)
