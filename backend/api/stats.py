"""Order figures: counts by state, finished per minute over the last hour, recent failures."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.blueprints.schemas import ID_PATTERN
from backend.deps import SessionDep
from backend.orders.stats import OrderStats, order_stats

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("/orders")
async def get_order_stats(
    session: SessionDep,
    blueprint: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> OrderStats:
    """Real orders only (test runs left out); counts are at most a few seconds old."""
    return await order_stats(session=session, blueprint=blueprint)
