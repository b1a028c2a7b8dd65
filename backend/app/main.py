"""The ASGI app: `backend.app.main:app`, or `create_app(settings)` in tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from backend import api, web
from backend.app.deps import LoginRequired, require_admin, require_docs
from backend.app.state import AppState
from backend.core.config import Settings, get_settings
from backend.core.errors import install_error_handlers
from backend.security.limits import BodySizeLimit
from backend.web.auth import login_redirect

STATIC = Path(__file__).resolve().parents[1] / "static"


def _add_docs(app: FastAPI) -> None:
    """/openapi.json, /docs and /redoc, behind the admin token (bearer or login) when set."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_admin)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(require_docs)])
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - Swagger UI")

    @app.get("/redoc", include_in_schema=False, dependencies=[Depends(require_docs)])
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    mounted: list[Any] = []  # sub-apps that check the admin token too (they share the state)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AppState.open(settings) as state:
            app.state.waybill = state
            for sub_app in mounted:
                sub_app.state.waybill = state
            yield

    app = FastAPI(
        title="Waybill",
        summary="Visual workflow designer for order automation",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    app.add_exception_handler(LoginRequired, lambda request, exc: login_redirect(request))
    _add_docs(app)
    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    if settings.demo_services:
        from backend.demo.app import create_demo_app

        demo = create_demo_app(calls_guard=require_admin)  # the call log holds request bodies
        demo.state.settings = settings
        mounted.append(demo)
        app.mount("/demo", demo)
    return app


def __getattr__(name: str) -> FastAPI:
    # `backend.app.main:app` is built on first use so that importing this module reads no settings.
    if name == "app":
        return create_app()
    raise AttributeError(name)
