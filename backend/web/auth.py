"""Log in with the admin token (only when one is set), log out."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend import auth
from backend.deps import SettingsDep
from backend.web.templating import templates

router = APIRouter()


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


def login_redirect(request: Request) -> RedirectResponse:
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return RedirectResponse(f"/login?next={target}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next),
                                                             "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, settings: SettingsDep, token: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "/") -> Response:
    if not settings.admin_token or not auth.token_matches(settings, token):
        return templates.TemplateResponse(request, "login.html", {
            "next": _safe_next(next), "error": "That token is not the admin token."},
            status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(auth.COOKIE, auth.new_session(settings), max_age=auth.SESSION_S,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE)
    return response
