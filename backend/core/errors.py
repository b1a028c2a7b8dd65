"""Errors the API answers with, and the handlers that turn them into JSON.

    WaybillError                    400  (base; `type` names the class of problem)
    ├── NotFound                    404
    ├── Conflict                    409  (duplicate id, nothing published yet, ...)
    ├── Invalid                     422  (input that parsed but is wrong; carries `errors`)
    ├── PayloadTooLarge             413
    ├── Unauthorized                401
    ├── Forbidden                   403  (a login session's request without its CSRF token)
    └── Unavailable                 503  (work for a worker that no worker took in time: a
                                          replay; never bad input, which is always a 4xx)

A write that lost a race with another one (the row was deleted or changed meanwhile:
SQLAlchemy's StaleDataError) answers 409 as a Conflict; the caller may try again.

Every answer is `{"type": str, "detail": str, "errors": [...]}` with a 4xx status.
Bad input never reaches a 500: request validation, malformed JSON and oversized bodies
are all mapped here.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class WaybillError(Exception):
    status_code = 400
    type = "bad_request"

    def __init__(self, detail: str, errors: list[Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(WaybillError):
    status_code = 404
    type = "not_found"


class Conflict(WaybillError):
    status_code = 409
    type = "conflict"


class Invalid(WaybillError):
    status_code = 422
    type = "invalid"


class PayloadTooLarge(WaybillError):
    status_code = 413
    type = "payload_too_large"


class Unauthorized(WaybillError):
    status_code = 401
    type = "unauthorized"


class Forbidden(WaybillError):
    status_code = 403
    type = "forbidden"


class Unavailable(WaybillError):
    status_code = 503
    type = "unavailable"


def error_body(type_: str, detail: str, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"type": type_, "detail": detail, "errors": errors or []}


def _request_validation_errors(exc: RequestValidationError) -> tuple[str, str, list[Any]]:
    errors = [
        {"loc": list(err.get("loc", ())), "code": err.get("type"), "message": err.get("msg")}
        for err in exc.errors()
    ]
    if any(err["code"] == "json_invalid" for err in errors):
        return "malformed_json", "The request body is not valid JSON.", errors
    return "invalid", "The request does not match the expected shape.", errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WaybillError)
    async def _waybill_error(request: Request, exc: WaybillError) -> JSONResponse:
        return JSONResponse(error_body(exc.type, exc.detail, exc.errors), exc.status_code)

    @app.exception_handler(StaleDataError)
    async def _lost_race(request: Request, exc: StaleDataError) -> JSONResponse:
        detail = "Another request changed or deleted this meanwhile; read it again and retry."
        return JSONResponse(error_body(Conflict.type, detail), Conflict.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        type_, detail, errors = _request_validation_errors(exc)
        status = 400 if type_ == "malformed_json" else 422
        return JSONResponse(error_body(type_, detail, errors), status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(type_, str(exc.detail)), exc.status_code, headers=exc.headers
        )
