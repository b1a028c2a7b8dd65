"""HTML pages (Jinja2 + htmx); every route here is left out of the OpenAPI schema."""

from fastapi import APIRouter, Depends

from backend.deps import require_login
from backend.web import auth, blueprints

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
pages = APIRouter(dependencies=[Depends(require_login)])
pages.include_router(blueprints.router)
router.include_router(pages)
