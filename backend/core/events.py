"""Live step events: workers publish to Redis pub/sub, web processes stream them as SSE.

Each order has its channel (`waybill:order:<order_id>`); whoever wants every order's events
(the orders list, the dashboard) pattern-subscribes to `waybill:order:*`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

PREFIX = "waybill:order:"
ALL_ORDERS = PREFIX + "*"


def order_channel(order_id: str) -> str:
    return PREFIX + order_id


async def publish(redis: Redis, order_id: str, batch: list[dict[str, Any]]) -> None:
    """Publish events of one order as one message, `{"order_id", "events": [...]}` (one
    command: a pipeline of one per event cost the worker a tenth of its CPU)."""
    await redis.publish(order_channel(order_id),
                        json.dumps({"order_id": order_id, "events": batch}, default=str))


class Subscription:
    """Events of a channel (or a `*` pattern), received from the moment it was made, one by
    one."""

    def __init__(self, pubsub: PubSub) -> None:
        self.pubsub = pubsub

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for message in self.pubsub.listen():
            if message["type"] in ("message", "pmessage"):
                published = json.loads(message["data"])
                for event in published["events"]:
                    yield {"order_id": published["order_id"], **event}


@asynccontextmanager
async def subscription(redis: Redis, channel: str) -> AsyncIterator[Subscription]:
    pubsub = redis.pubsub()
    pattern = "*" in channel
    await (pubsub.psubscribe(channel) if pattern else pubsub.subscribe(channel))
    try:
        yield Subscription(pubsub)
    finally:
        await pubsub.aclose()
