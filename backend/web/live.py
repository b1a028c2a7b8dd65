"""Live pages: Server-Sent Events that say *which orders changed*, never what changed.

A page listens (htmx's SSE extension, `hx-sse:connect`) and re-fetches its own fragment when
a `changed` event arrives, so the HTML always comes from the one template that also renders
the page. Step events from the workers are coalesced: a burst of events within
`window_s` becomes one `changed` event, so a busy engine cannot flood a page with refetches.

Subscribing happens before the first event is sent; `announce=True` sends an immediate
`changed` once subscribed, so whatever happened between rendering the page and connecting
is picked up by one refetch (no event can fall into that gap).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi.sse import ServerSentEvent
from redis.asyncio import Redis

MAX_IDS = 100
IDLE_POLL_S = 15.0


def _order_id(message: dict[str, Any]) -> str | None:
    try:
        return str(json.loads(message["data"]).get("order_id"))
    except (ValueError, TypeError, AttributeError):
        return None


def changed(order_ids: set[str], announce: bool = False) -> ServerSentEvent:
    ids = sorted(order_ids)
    data = {"order_ids": ids[:MAX_IDS], "more": len(ids) > MAX_IDS, "initial": announce}
    return ServerSentEvent(event="changed", data=data)


async def _burst(pubsub: Any, first: dict[str, Any], window_s: float) -> set[str]:
    """The order ids of `first` and of every message within `window_s` after it."""
    ids = {_order_id(first)}
    deadline = asyncio.get_running_loop().time() + window_s
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
        if message is not None:
            ids.add(_order_id(message))
    return {order_id for order_id in ids if order_id}


async def order_changes(redis: Redis, channel: str, *, window_s: float = 0.3,
                        announce: bool = False) -> AsyncIterator[ServerSentEvent]:
    """`changed` events for a channel (`waybill:order:<id>`) or pattern (`waybill:order:*`)."""
    pubsub = redis.pubsub()
    pattern = "*" in channel
    await (pubsub.psubscribe(channel) if pattern else pubsub.subscribe(channel))
    try:
        if announce:
            yield changed(set(), announce=True)
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True,
                                               timeout=IDLE_POLL_S)
            if message is not None:
                yield changed(await _burst(pubsub, message, window_s))
    finally:
        with anyio.CancelScope(shield=True):  # the client left: still give the connection back
            await (pubsub.punsubscribe(channel) if pattern else pubsub.unsubscribe(channel))
            await pubsub.aclose()
