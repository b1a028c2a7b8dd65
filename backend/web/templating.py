"""The one Jinja2 environment of the HTML pages (autoescape on), and small page helpers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from backend.engine.catalogue import EDGE_KIND_SPECS
from backend.web import formats

BACKEND = Path(__file__).resolve().parents[1]
STATIC = BACKEND / "static"

templates = Jinja2Templates(directory=BACKEND / "templates")


def asset(path: str) -> str:
    """A static URL that changes when the file does, so a rebuilt bundle is never stale."""
    try:
        stamp = int((STATIC / path).stat().st_mtime)
    except OSError:
        stamp = 0
    return f"/static/{path}?v={stamp}"


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def page(request: Request, name: str, context: dict[str, Any], status: int = 200,
         headers: dict[str, str] | None = None, *, active: str) -> Response:
    """A page or fragment of the section `active` (the header's highlighted tab)."""
    return templates.TemplateResponse(request, name, {"active": active, **context},
                                      status_code=status, headers=headers)


def go_to(request: Request, url: str) -> Response:
    """After a form: htmx follows HX-Redirect, a plain form post follows a 303."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def csrf_token(request: Request) -> str:
    """The CSRF token of this request's session ("" when not logged in or no token is set)."""
    from backend.security import auth

    settings = request.app.state.settings
    session = auth.checked_session(request)  # pages behind the login looked it up already
    if not settings.admin_token or session is None:
        return ""
    return auth.csrf_token(settings, session)


def live_updates(request: Request) -> bool:
    """Whether pages can follow orders live (the web process has Redis)."""
    state = getattr(request.app.state, "waybill", None)
    return getattr(state, "redis", None) is not None


_MARKED = re.compile(r"`([^`]+)`|\[(\w+)\]")


def marked(text: str | None) -> Markup:
    """A catalogue text (a field's hint, a node type's note) as HTML: `code` in backticks,
    an edge kind in brackets (`[true]`) as that kind's chip; everything else escaped."""
    tones = {spec.kind: spec.tone for spec in EDGE_KIND_SPECS}
    source = text or ""
    parts: list[Markup] = []
    last = 0
    for match in _MARKED.finditer(source):
        code, kind = match.groups()
        parts.append(escape(source[last:match.start()]))
        if code is not None:
            parts.append(Markup("<code>{}</code>").format(code))
        elif kind in tones:
            parts.append(Markup('<span class="chip chip-{}">{}</span>').format(tones[kind], kind))
        else:
            parts.append(escape(match.group(0)))
        last = match.end()
    parts.append(escape(source[last:]))
    return Markup("").join(parts)


templates.env.globals["asset"] = asset
templates.env.globals["live_updates"] = live_updates
templates.env.globals["csrf_token"] = csrf_token
templates.env.filters.update(formats.FILTERS)
templates.env.filters["marked"] = marked
