"""FastAPI dependencies as types: `session: SessionDep`, `state: StateDep`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from backend import auth
from backend.config import Settings
from backend.errors import Unauthorized
from backend.state import AppState


def get_state(request: Request) -> AppState:
    return request.app.state.waybill


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_state(request).sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StateDep = Annotated[AppState, Depends(get_state)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="the ADMIN_TOKEN, when one is set")


def require_admin(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With ADMIN_TOKEN set, every API call carries it as a bearer token, or comes from a
    logged-in page (session cookie + CSRF token)."""
    if not settings.admin_token:
        return
    if credentials and auth.token_matches(settings, credentials.credentials):
        return
    if auth.logged_in(request, settings):
        return
    raise Unauthorized("A valid admin bearer token is required.")


class LoginRequired(Exception):
    """A page asked for without a session: the app redirects to /login."""


def require_login(request: Request, settings: SettingsDep) -> None:
    if settings.admin_token and not auth.logged_in(request, settings):
        raise LoginRequired
