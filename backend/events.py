"""Live step events: workers publish to Redis pub/sub, web processes stream them as SSE.

Each order has its channel (`waybill:order:<order_id>`); whoever wants every order's events
(the orders list, the dashboard) pattern-subscribes to `waybill:order:*`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

PREFIX = "waybill:order:"
ALL_ORDERS = PREFIX + "*"


def order_channel(order_id: str) -> str:
    return PREFIX + order_id


async def publish(redis: Redis, order_id: str, batch: list[dict[str, Any]]) -> None:
    """Publish events of one order in a single round trip."""
    channel = order_channel(order_id)
    async with redis.pipeline(transaction=False) as pipe:
        for event in batch:
            pipe.publish(channel, json.dumps({"order_id": order_id, **event}, default=str))
        await pipe.execute()


async def subscribe(redis: Redis, channel: str) -> AsyncIterator[dict[str, Any]]:
    """Events on a channel (or a `*` pattern) until the consumer stops iterating."""
    pubsub = redis.pubsub()
    pattern = "*" in channel
    await (pubsub.psubscribe(channel) if pattern else pubsub.subscribe(channel))
    try:
        async for message in pubsub.listen():
            if message["type"] in ("message", "pmessage"):
                yield json.loads(message["data"])
    finally:
        await (pubsub.punsubscribe(channel) if pattern else pubsub.unsubscribe(channel))
        await pubsub.aclose()
