"""Bulk actions of the orders list, as forms send them: reprocess (by the ticked orders or by
the list's filter, always previewed as a dry run first) and cancel (the ticked orders)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.errors import Conflict, NotFound
from backend.orders import service
from backend.orders.models import ACTIVE_STATES, Order
from backend.orders.schemas import ReprocessAnswer, ReprocessRequest
from backend.web.order_views import ListQuery

MAX_SELECTED = 1000


@dataclass
class BulkForm:
    mode: str  # "selected" or "filter"
    order_ids: list[str]
    query: ListQuery
    from_: str
    run: bool


def bulk_form(form: Any, query: ListQuery) -> BulkForm:
    ids = list(dict.fromkeys(str(value) for value in form.getlist("order_ids")))[:MAX_SELECTED]
    mode = str(form.get("mode") or ("selected" if ids else "filter"))
    return BulkForm(mode=mode if mode in ("selected", "filter") else "filter", order_ids=ids,
                    query=query, from_="failed" if form.get("from") == "failed" else "start",
                    run=form.get("run") == "1")


async def reprocess(*, session: AsyncSession, redis: ArqRedis | None,
                    bulk: BulkForm) -> ReprocessAnswer:
    selector: dict[str, Any] = ({"order_ids": bulk.order_ids} if bulk.mode == "selected"
                                else {"filter": bulk.query.where.model_dump()})
    request = ReprocessRequest.model_validate(
        {**selector, "from": bulk.from_, "dry_run": not bulk.run})
    return await service.reprocess(session=session, redis=redis, request=request)


async def active_among(*, session: AsyncSession, order_ids: list[str]) -> list[str]:
    """The ones of `order_ids` that can still be cancelled."""
    query = select(Order.order_id).where(col(Order.order_id).in_(order_ids),
                                         col(Order.state).in_(ACTIVE_STATES))
    return list(await session.exec(query))


@dataclass
class CancelOutcome:
    cancelled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


async def cancel(*, session: AsyncSession, redis: ArqRedis | None,
                 order_ids: list[str]) -> CancelOutcome:
    """Cancel each order that is still active; the others are reported as skipped."""
    outcome = CancelOutcome()
    for order_id in order_ids:
        try:
            await service.cancel_order(session=session, redis=redis, order_id=order_id)
            outcome.cancelled.append(order_id)
        except (Conflict, NotFound):
            outcome.skipped.append(order_id)
    return outcome
