"""Order figures: counts by state, finished per minute over the last hour, recent failures,
the slowest and most-failing steps of the last hour."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.app.deps import SessionDep
from backend.engine.format import ID_PATTERN
from backend.orders.stats import OrderStats, order_stats

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("/orders")
async def get_order_stats(
    session: SessionDep,
    blueprint: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> OrderStats:
    """Real orders only (test runs left out); counts are at most a few seconds old, step
    figures (p95 and mean step time, failed attempts and failure rate per blueprint and
    step) at most ten."""
    return await order_stats(session=session, blueprint=blueprint)
