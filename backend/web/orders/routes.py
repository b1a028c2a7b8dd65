"""Order pages: the filterable list (live counts, bulk reprocess and cancel) and one order's
timeline (live while it runs; wake, signal, cancel, reprocess)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlmodel import col, select

from backend.api_calls.service import list_api_calls
from backend.app.deps import SessionDep, StateDep
from backend.blueprints.models import Blueprint
from backend.core import events
from backend.core.errors import WaybillError
from backend.orders import service, stats
from backend.orders.schemas import ORDER_ID_PATTERN, ReprocessRequest, RerunRequest
from backend.web.live import order_changes
from backend.web.orders import bulk
from backend.web.orders.views import PAGE_SIZE, graph_boot, list_query, timeline
from backend.web.step_labels import order_labels
from backend.web.templating import is_htmx, page

router = APIRouter(prefix="/orders")
OrderId = Annotated[str, Path(pattern=ORDER_ID_PATTERN)]
REFRESH_LIST = {"HX-Trigger": "orders-changed"}
SIGNAL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


_page = partial(page, active="orders")


async def _blueprint_choices(session: SessionDep) -> list[tuple[str, str]]:
    rows = await session.exec(select(Blueprint.id, Blueprint.name).order_by(col(Blueprint.name)))
    return [(row[0], row[1]) for row in rows]


# -- the list ----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
async def list_page(request: Request, session: SessionDep) -> Response:
    """The page, or (for htmx) just the results: state tabs with counts, rows, pager."""
    query = list_query(request.query_params)
    try:
        rows, next_cursor = await service.list_orders(
            session=session, where=query.where, limit=PAGE_SIZE, cursor=query.cursor)
    except WaybillError as exc:
        query.errors.append(exc.detail)
        query.cursor = None
        rows, next_cursor = await service.list_orders(session=session, where=query.where,
                                                      limit=PAGE_SIZE)
    counts, fresh_in = await stats.counts_with_age(session=session, where=query.where)
    context = {"query": query, "rows": rows, "next_cursor": next_cursor, "counts": counts,
               "total": sum(counts.values()), "recount_ms": int(fresh_in * 1000) + 50 if fresh_in else 0,
               "labels": await order_labels(session, rows)}
    if is_htmx(request):
        return _page(request, "orders/_results.html", context)
    blueprints = await _blueprint_choices(session)
    return _page(request, "orders/list.html", {**context, "blueprints": blueprints})


@router.get("/_live", response_class=EventSourceResponse)
async def list_live(state: StateDep) -> AsyncIterator[ServerSentEvent]:
    """`changed` whenever any order changes (at most about three times a second)."""
    if state.redis is None:
        return
    async for event in order_changes(state.redis, events.ALL_ORDERS, window_s=1.0):
        yield event


@router.post("/_reprocess", response_class=HTMLResponse)
async def reprocess_many(request: Request, session: SessionDep, state: StateDep) -> Response:
    """A dry run to preview (the default), or the real thing with `run=1`."""
    form = await request.form()
    chosen = bulk.bulk_form(form, list_query(form))
    context: dict[str, Any] = {"bulk": chosen, "answer": None, "error": None}
    if chosen.mode == "selected" and not chosen.order_ids:
        context["error"] = "Tick the orders to reprocess, or choose every order of the filter."
    else:
        try:
            context["answer"] = await bulk.reprocess(session=session, redis=state.redis,
                                                     bulk=chosen)
        except WaybillError as exc:
            context["error"] = exc.detail
    headers = REFRESH_LIST if chosen.run and context["answer"] else None
    return _page(request, "orders/_reprocess.html", context, headers=headers)


@router.post("/_cancel", response_class=HTMLResponse)
async def cancel_many(request: Request, session: SessionDep, state: StateDep) -> Response:
    form = await request.form()
    chosen = bulk.bulk_form(form, list_query(form))
    answer = await bulk.cancel(session=session, redis=state.redis, bulk=chosen)
    headers = REFRESH_LIST if chosen.run and answer.count else None
    return _page(request, "orders/_cancel.html", {"bulk": chosen, "answer": answer},
                 headers=headers)


# -- one order ---------------------------------------------------------------------------------


async def _timeline(request: Request, session: SessionDep, order_id: str,
                    flash: dict[str, str] | None = None, status: int = 200,
                    **extra: Any) -> Response:
    try:
        view = await timeline(session=session, order_id=order_id)
    except WaybillError as exc:
        return _page(request, "not_found.html",
                     {"detail": exc.detail, "back": ("/orders", "Back to orders")}, 404)
    context: dict[str, Any] = {"view": view, "order": view.order, "flash": flash, **extra}
    if is_htmx(request):
        return _page(request, "orders/_timeline.html", context, status)
    if view.nodes:
        calls = await list_api_calls(session=session)
        context["graph"] = graph_boot(view.definition, calls)
    return _page(request, "orders/timeline.html", context, status)


@router.get("/{order_id}", response_class=HTMLResponse)
async def order_page(request: Request, order_id: OrderId, session: SessionDep) -> Response:
    """The timeline page, or (for htmx) the timeline alone."""
    return await _timeline(request, session, order_id)


@router.get("/{order_id}/live", response_class=EventSourceResponse)
async def order_live(order_id: OrderId, state: StateDep) -> AsyncIterator[ServerSentEvent]:
    """`changed` after each burst of this order's step events (and once on connecting)."""
    if state.redis is None:
        return
    channel = events.order_channel(order_id)
    async for event in order_changes(state.redis, channel, window_s=0.15, announce=True):
        yield event


async def _act(request: Request, session: SessionDep, order_id: str, done: str,
               action: Any) -> Response:
    """Run an action on the order; answer the refreshed timeline with how it went."""
    try:
        await action()
    except WaybillError as exc:
        await session.rollback()
        return await _timeline(request, session, order_id, {"tone": "error", "text": exc.detail})
    return await _timeline(request, session, order_id, {"tone": "ok", "text": done})


@router.post("/{order_id}/wake", response_class=HTMLResponse)
async def wake(request: Request, order_id: OrderId, session: SessionDep,
               state: StateDep) -> Response:
    return await _act(request, session, order_id, "Woken: the order runs again now.",
                      lambda: service.wake_now(session=session, redis=state.redis,
                                               order_id=order_id))


@router.post("/{order_id}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, order_id: OrderId, session: SessionDep,
                 state: StateDep) -> Response:
    return await _act(request, session, order_id, "Cancelled.",
                      lambda: service.cancel_order(session=session, redis=state.redis,
                                                   order_id=order_id))


def _payload(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WaybillError(f"The payload is not JSON: {exc.msg} (line {exc.lineno}).") from exc


@router.post("/{order_id}/signal", response_class=HTMLResponse)
async def signal(request: Request, order_id: OrderId, session: SessionDep, state: StateDep,
                 name: Annotated[str, Form()] = "",
                 payload: Annotated[str, Form()] = "") -> Response:
    async def send() -> None:
        if not SIGNAL_NAME.fullmatch(name):
            raise WaybillError("A signal name is 1 to 64 letters, digits, `_`, `.` or `-`.")
        await service.send_signal(session=session, redis=state.redis, order_id=order_id,
                                  name=name, payload=_payload(payload))

    return await _act(request, session, order_id, f"Signal “{name}” sent.", send)


@router.post("/{order_id}/reprocess", response_class=HTMLResponse)
async def reprocess_one(request: Request, order_id: OrderId, session: SessionDep,
                        state: StateDep, start: Annotated[str, Form(alias="from")] = "failed",
                        ) -> Response:
    where = "the start" if start == "start" else "its failed step"

    async def run() -> None:
        request_ = ReprocessRequest.model_validate(
            {"order_ids": [order_id], "from": "start" if start == "start" else "failed"})
        answer = await service.reprocess(session=session, redis=state.redis, request=request_,
                                         actor="admin (order page)")
        if not answer.count:
            raise WaybillError("Only a finished order can be reprocessed.")

    return await _act(request, session, order_id, f"Reprocessing from {where}.", run)


@router.post("/{order_id}/rerun", response_class=HTMLResponse)
async def rerun(request: Request, order_id: OrderId, session: SessionDep, state: StateDep,
                input: Annotated[str, Form()] = "",
                start: Annotated[str, Form(alias="from")] = "failed") -> Response:
    """Run a finished order again with its input as edited (the change goes on its timeline)."""
    try:
        payload = _payload(input)
        if not isinstance(payload, dict):
            raise WaybillError("The input is a JSON object, like {\"order_id\": \"1001\"}.")
        await service.rerun(session=session, redis=state.redis, order_id=order_id,
                            request=RerunRequest.model_validate(
                                {"from": "start" if start == "start" else "failed",
                                 "input": payload}), actor="admin (order page)")
    except WaybillError as exc:
        await session.rollback()
        problems = "; ".join(str(p.get("message", p)) for p in exc.errors[:3]
                             if isinstance(p, dict))
        text = f"{exc.detail} {problems}".strip()
        return await _timeline(request, session, order_id, {"tone": "error", "text": text},
                               rerun_open=True, rerun_input=input)
    where = "the start" if start == "start" else "its failed step"
    return await _timeline(request, session, order_id,
                           {"tone": "ok", "text": f"Rerunning from {where} with the new input."})
