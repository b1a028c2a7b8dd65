"""Demo services: stand-ins for the third-party APIs the example blueprints call.

Mounted by the main app at `/demo`; every path here is relative to the mount. State lives
in memory on `app.state.demo`; ids and tracking numbers are derived from the inputs, so the
same calls always give the same answers. Failure-injection flags: see `backend.demo.calls`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from backend.core.errors import WaybillError, error_body
from backend.demo import orders, returns, support
from backend.demo.calls import AdminCall, DemoFailure, record_status
from backend.demo.store import DemoStore


async def _on_failure(request: Request, exc: DemoFailure) -> JSONResponse:
    record_status(request, exc.status)
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)


async def _on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    record_status(request, exc.status_code)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    record_status(request, 422)
    body = {"error": "invalid request", "details": jsonable_encoder(exc.errors())}
    return JSONResponse(body, status_code=422)


async def _on_refused(request: Request, exc: WaybillError) -> JSONResponse:
    return JSONResponse(error_body(exc.type, exc.detail, exc.errors), exc.status_code)


def _add_call_log(app: FastAPI, guard: Callable[..., Any] | None) -> None:
    """`GET /calls` lists the calls received; `DELETE /calls` forgets all state. With a
    `guard` (a dependency: the main app passes its admin check), both need it."""
    dependencies = [Depends(guard)] if guard is not None else []

    @app.get("/calls", tags=["calls"], summary="The calls received, oldest first",
             dependencies=dependencies)
    async def list_calls(call: AdminCall, path: str | None = None, method: str | None = None):
        entries = [entry for entry in call.store.calls
                   if path in (None, entry["path"]) and method in (None, entry["method"])]
        return call.read({"data": entries, "count": len(entries)})

    @app.delete("/calls", tags=["calls"], summary="Clear the call log and all demo state",
                dependencies=dependencies)
    async def clear_calls(call: AdminCall):
        cleared = len(call.store.calls)
        app.state.demo = DemoStore()
        return call.read({"cleared": cleared})


def create_demo_app(calls_guard: Callable[..., Any] | None = None) -> FastAPI:
    """A fresh demo app with empty state; `calls_guard` protects the call log."""
    app = FastAPI(title="Waybill demo services", version="1.0",
                  description=__doc__.split("\n\n")[0])
    app.state.demo = DemoStore()
    for router in (support.router, returns.router, orders.router):
        app.include_router(router)
    _add_call_log(app, calls_guard)
    app.add_exception_handler(DemoFailure, _on_failure)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_invalid)
    app.add_exception_handler(WaybillError, _on_refused)  # a refused `calls_guard`
    return app


app = create_demo_app()
