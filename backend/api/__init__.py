"""The JSON API under /api (in OpenAPI at /docs); one router per feature."""

from fastapi import APIRouter, Depends

from backend.api import (
    api_calls,
    blueprints,
    credentials,
    health,
    meta,
    orders,
    schedules,
    stats,
    variables,
    webhooks,
)
from backend.app.deps import require_admin

router = APIRouter()
_protected = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])
for feature in (blueprints, schedules, api_calls, credentials, variables, orders, stats, meta):
    _protected.include_router(feature.router)
router.include_router(_protected)
router.include_router(health.router)
router.include_router(webhooks.router)
