"""FastAPI dependencies as types: `session: SessionDep`, `state: StateDep`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.app.state import AppState
from backend.core.config import Settings
from backend.core.errors import Unauthorized
from backend.security import auth


def get_state(request: Request) -> AppState:
    return request.app.state.waybill


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_state(request).sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


# FastAPI runs a plain `def` dependency in its thread pool: these are coroutines, answered on
# the event loop without a thread hop (a webhook spent a tenth of its CPU on those hops)
async def _state(request: Request) -> AppState:
    return get_state(request)


async def _settings(request: Request) -> Settings:
    return get_settings(request)


StateDep = Annotated[AppState, Depends(_state)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(_settings)]

bearer = HTTPBearer(auto_error=False, description="the ADMIN_TOKEN, when one is set")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _given(credentials: HTTPAuthorizationCredentials | None) -> str:
    return credentials.credentials if credentials else ""


async def _admin(request: Request, settings: Settings, token: str) -> bool:
    """The admin bearer token, or a live login session (with its CSRF token if unsafe)."""
    if auth.token_matches(settings, token):
        return True
    return await auth.logged_in(request, settings, get_state(request).sessions)


async def require_admin(request: Request, settings: SettingsDep, credentials: BearerDep) -> None:
    """With ADMIN_TOKEN set, every API call carries it as a bearer token, or comes from a
    logged-in page (live session cookie + CSRF token)."""
    if not settings.admin_token or await _admin(request, settings, _given(credentials)):
        return
    raise Unauthorized("A valid admin bearer token is required.")


class LoginRequired(Exception):
    """A page asked for without a session: the app redirects to /login."""


async def require_login(request: Request, settings: SettingsDep) -> None:
    if settings.admin_token and not await auth.logged_in(
            request, settings, get_state(request).sessions):
        raise LoginRequired


async def require_docs(request: Request, settings: SettingsDep, credentials: BearerDep) -> None:
    """The API docs pages (/docs, /redoc): the admin bearer token or a login, else to /login."""
    if settings.admin_token and not await _admin(request, settings, _given(credentials)):
        raise LoginRequired


async def require_metrics(request: Request, settings: SettingsDep, credentials: BearerDep) -> None:
    """`/metrics`: open unless ADMIN_TOKEN or METRICS_TOKEN is set; then either token as a
    bearer token, or a login."""
    if not settings.admin_token and not settings.metrics_token:
        return
    token = _given(credentials)
    if auth.metrics_token_matches(settings, token):
        return
    if settings.admin_token and await _admin(request, settings, token):
        return
    raise Unauthorized("/metrics needs the admin token or METRICS_TOKEN as a bearer token.")
