"""The dashboard: orders by state, orders finished per minute over the last hour, recent
failures, the slowest and most-failing steps of the last hour; it refreshes itself when
orders change."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backend.app.deps import SessionDep
from backend.orders.stats import OrderStats, order_stats
from backend.web.step_labels import labels_by_version
from backend.web.templating import is_htmx, templates

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, session: SessionDep) -> Response:
    stats = await order_stats(session=session)
    peak = max((minute.completed + minute.failed for minute in stats.throughput), default=0)
    context = {"active": "dashboard", "stats": stats, "peak": peak,
               "finished": sum(m.completed + m.failed for m in stats.throughput),
               **await _labels(session, stats)}
    name = "dashboard/_stats.html" if is_htmx(request) else "dashboard/index.html"
    return templates.TemplateResponse(request, name, context)


async def _labels(session: SessionDep, stats: OrderStats) -> dict[str, dict]:
    """Steps' labels: a step table's row (a node of any version of its blueprint, over the
    last hour) as the latest published version names it; a failure as its own version does."""
    rows = [*stats.slowest_steps, *stats.failing_steps]
    latest = await labels_by_version(session, [(row.blueprint, None) for row in rows])
    pinned = await labels_by_version(session, [(order.blueprint, order.version)
                                               for order in stats.recent_failures])
    return {
        "step_labels": {(row.blueprint, row.node): latest[(row.blueprint, None)].get(row.node)
                        for row in rows},
        "failure_labels": {order.order_id: pinned[(order.blueprint, order.version)]
                           .get(order.failed_node or "") for order in stats.recent_failures},
    }
