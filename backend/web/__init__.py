"""HTML pages (Jinja2 + htmx); every route here is left out of the OpenAPI schema."""

from fastapi import APIRouter, Depends

from backend.deps import require_login
from backend.web import api_calls, auth, blueprints, credentials, dashboard, orders, variables

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
pages = APIRouter(dependencies=[Depends(require_login)])
for feature in (dashboard, blueprints, orders, api_calls, credentials, variables):
    pages.include_router(feature.router)
router.include_router(pages)
