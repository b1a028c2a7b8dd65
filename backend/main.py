"""The ASGI app: `backend.main:app`, or `create_app(settings)` in tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from backend import api, web
from backend.config import Settings, get_settings
from backend.deps import LoginRequired
from backend.errors import install_error_handlers
from backend.limits import BodySizeLimit
from backend.state import AppState
from backend.web.auth import login_redirect

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AppState.open(settings) as state:
            app.state.waybill = state
            yield

    app = FastAPI(
        title="Waybill",
        summary="Visual workflow designer for order automation",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    app.add_exception_handler(LoginRequired, lambda request, exc: login_redirect(request))
    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    if settings.demo_services:
        from backend.demo.app import create_demo_app

        app.mount("/demo", create_demo_app())
    return app


def __getattr__(name: str) -> FastAPI:
    # `backend.main:app` is built on first use so that importing this module reads no settings.
    if name == "app":
        return create_app()
    raise AttributeError(name)
