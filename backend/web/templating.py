"""The one Jinja2 environment of the HTML pages (autoescape on), and small page helpers."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

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


templates.env.globals["asset"] = asset
