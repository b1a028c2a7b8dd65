"""Liveness (always open) and Prometheus metrics (open unless ADMIN_TOKEN or METRICS_TOKEN is
set; then either token as a bearer token, or a login)."""

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from backend.app.deps import SessionDep, require_metrics

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(session: SessionDep) -> dict[str, str]:
    await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return {"status": "ok"}


@router.get("/metrics", response_class=Response, dependencies=[Depends(require_metrics)])
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
