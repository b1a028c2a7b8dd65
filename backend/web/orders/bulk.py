"""Bulk actions of the orders list, as forms send them: reprocess and cancel, by the ticked
orders or by the list's filter, always previewed as a dry run first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.orders import service
from backend.orders.schemas import CancelAnswer, CancelRequest, ReprocessAnswer, ReprocessRequest
from backend.web.orders.views import ListQuery

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
                    query=query, from_="start" if form.get("from") == "start" else "failed",
                    run=form.get("run") == "1")


def _selector(bulk: BulkForm) -> dict[str, Any]:
    if bulk.mode == "selected":
        return {"order_ids": bulk.order_ids}
    return {"filter": bulk.query.where.model_dump()}


async def reprocess(*, session: AsyncSession, redis: ArqRedis | None,
                    bulk: BulkForm) -> ReprocessAnswer:
    request = ReprocessRequest.model_validate(
        {**_selector(bulk), "from": bulk.from_, "dry_run": not bulk.run})
    return await service.reprocess(session=session, redis=redis, request=request,
                                   actor="admin (orders list)")


async def cancel(*, session: AsyncSession, redis: ArqRedis | None,
                 bulk: BulkForm) -> CancelAnswer:
    """Previewed (a dry run) until the form says run."""
    request = CancelRequest.model_validate({**_selector(bulk), "dry_run": not bulk.run})
    return await service.cancel_orders(session=session, redis=redis, request=request)
