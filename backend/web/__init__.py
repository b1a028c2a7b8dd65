"""HTML pages (Jinja2 + htmx); every route here is left out of the OpenAPI schema.

One module or package per page family. A family that is only routes is a module
(`auth`, `dashboard`, `credentials`, `variables`); a family whose pages need more than the
feature's service gives them is a package, its routes in `routes.py` beside the view-models
they render (`orders/`: the list's filter and the timeline, the bulk actions; `blueprints/`:
the editor's config panels; `api_calls/`: the API call form). What every page shares stays
here: `templating.py` (the Jinja2 environment and page helpers), `formats.py` (its filters)
and `live.py` (Server-Sent Events that tell a page to refetch).
"""

from fastapi import APIRouter, Depends

from backend.app.deps import require_login
from backend.web import auth, credentials, dashboard, variables
from backend.web.api_calls import routes as api_calls
from backend.web.blueprints import routes as blueprints
from backend.web.orders import routes as orders

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
pages = APIRouter(dependencies=[Depends(require_login)])
for feature in (dashboard, blueprints, orders, api_calls, credentials, variables):
    pages.include_router(feature.router)
router.include_router(pages)
