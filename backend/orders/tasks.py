"""arq jobs: thin; the work is in `Runner`."""

from __future__ import annotations

from typing import Any


async def activate_order(ctx: dict[str, Any], order_pk: int) -> None:
    await ctx["runner"].activate(order_pk)
