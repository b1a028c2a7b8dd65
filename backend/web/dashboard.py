"""The dashboard: orders by state, orders finished per minute over the last hour, recent
failures, the slowest and most-failing steps of the last hour; it refreshes itself when
orders change."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backend.app.deps import SessionDep
from backend.orders.stats import order_stats
from backend.web.templating import is_htmx, templates

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, session: SessionDep) -> Response:
    stats = await order_stats(session=session)
    peak = max((minute.completed + minute.failed for minute in stats.throughput), default=0)
    context = {"active": "dashboard", "stats": stats, "peak": peak,
               "finished": sum(m.completed + m.failed for m in stats.throughput)}
    name = "dashboard/_stats.html" if is_htmx(request) else "dashboard/index.html"
    return templates.TemplateResponse(request, name, context)
