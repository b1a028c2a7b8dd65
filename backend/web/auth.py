"""Log in with the admin token (only when one is set), log out (with the session's CSRF token).

Logging in makes a server-side session (see `backend.security.auth`); logging out revokes it,
so the old cookie stops working for pages and the API alike."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.app.deps import SettingsDep, StateDep
from backend.core.errors import Forbidden
from backend.security import auth
from backend.web.templating import templates

router = APIRouter()


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _secure(request: Request) -> bool:
    # uvicorn sets the scheme from X-Forwarded-Proto when the proxy is trusted
    return request.url.scheme == "https"


def login_redirect(request: Request) -> RedirectResponse:
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return RedirectResponse(f"/login?next={target}", status_code=303)


async def _login_page(request: Request, settings: SettingsDep, state: StateDep, next: str,
                      error: str | None, status_code: int = 200) -> Response:
    """The login page. It is open to all; looking the session up lets the layout show its
    logout button (and CSRF token) for a live session only, not for a revoked cookie."""
    await auth.current_session(request, settings, state.sessions)
    return templates.TemplateResponse(request, "login.html", {
        "next": _safe_next(next), "error": error}, status_code=status_code)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, settings: SettingsDep, state: StateDep,
                     next: str = "/") -> Response:
    return await _login_page(request, settings, state, next, None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, settings: SettingsDep, state: StateDep,
                token: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "/") -> Response:
    if not settings.admin_token or not auth.token_matches(settings, token):
        return await _login_page(request, settings, state, next,
                                 "That token is not the admin token.", status_code=401)
    previous = request.cookies.get(auth.COOKIE, "")
    async with state.sessions() as db:
        if auth.valid_session(settings, previous):  # logging in again ends the old session
            await auth.end_session(db, previous)
        cookie = await auth.start_session(db, settings)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(auth.COOKIE, cookie, max_age=auth.SESSION_S, httponly=True,
                        samesite="lax", secure=_secure(request))
    return response


@router.post("/logout")
async def logout(request: Request, settings: SettingsDep, state: StateDep,
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """Revoke the session. A signed session cookie needs its CSRF token (the form field or
    the X-CSRF-Token header), else 403 and the session stays."""
    session = request.cookies.get(auth.COOKIE, "")
    if settings.admin_token and auth.valid_session(settings, session):
        given = csrf_token or request.headers.get(auth.CSRF_HEADER, "")
        if not auth.csrf_matches(settings, session, given):
            raise Forbidden("Logging out needs this session's CSRF token.")
        async with state.sessions() as db:
            await auth.end_session(db, session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE, httponly=True, samesite="lax", secure=_secure(request))
    return response
