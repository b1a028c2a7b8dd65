"""FastAPI dependencies as types: `session: SessionDep`, `state: StateDep`."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

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
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With ADMIN_TOKEN set, every API call must carry it as a bearer token."""
    if not settings.admin_token:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
        raise Unauthorized("A valid admin bearer token is required.")
