"""HTML pages (Jinja2 + htmx); every route here is left out of the OpenAPI schema."""

from fastapi import APIRouter

from backend.web import blueprints

router = APIRouter(include_in_schema=False)
router.include_router(blueprints.router)
