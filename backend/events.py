"""Live step events: workers publish to Redis pub/sub, web processes stream them as SSE."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

ALL_ORDERS = "waybill:events"


def order_channel(order_id: str) -> str:
    return f"waybill:order:{order_id}"


async def publish(redis: Redis, order_id: str, event: dict[str, Any]) -> None:
    message = json.dumps({"order_id": order_id, **event}, default=str)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.publish(order_channel(order_id), message)
        pipe.publish(ALL_ORDERS, message)
        await pipe.execute()


async def subscribe(redis: Redis, channel: str) -> AsyncIterator[dict[str, Any]]:
    """Events on a channel until the consumer stops iterating."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    try:
        async for message in pubsub.listen():
            if message["type"] == "message":
                yield json.loads(message["data"])
    finally:
        await pubsub.unsubscribe(channel)
        await pubsub.aclose()
