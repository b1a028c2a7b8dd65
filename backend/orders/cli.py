"""What `waybill orders ...` does, apart from argument parsing."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.config import Settings
from backend.core.errors import Invalid
from backend.core.queue import connect_redis
from backend.orders.schemas import ReprocessAnswer, ReprocessRequest
from backend.orders.service import reprocess as reprocess_orders


async def reprocess(session: AsyncSession, settings: Settings, ids: list[str] | None,
                    where: dict[str, Any], start_from: str, dry_run: bool) -> ReprocessAnswer:
    selector: dict[str, Any] = {"order_ids": ids} if ids else {
        "filter": {key: value for key, value in where.items() if value is not None}}
    try:
        request = ReprocessRequest.model_validate({**selector, "from": start_from,
                                                   "dry_run": dry_run})
    except ValidationError as exc:
        raise Invalid("Bad reprocess options.", exc.errors(include_url=False)) from exc
    redis = await connect_redis(settings.redis_url) if settings.redis_url else None
    try:
        return await reprocess_orders(session=session, redis=redis, request=request,
                                      actor="waybill orders reprocess (CLI)")
    finally:
        if redis is not None:
            await redis.aclose()
