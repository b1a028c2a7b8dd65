"""With ADMIN_TOKEN set: the API takes it as a bearer token; people log in once with it and
get a session cookie (HttpOnly, SameSite=Lax, signed with SECRET_KEY), and every unsafe
request made with that cookie must carry the session's CSRF token (`X-CSRF-Token`)."""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import Request

from backend.config import Settings

COOKIE = "waybill_session"
SESSION_S = 7 * 86_400
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sign(settings: Settings, message: str) -> str:
    key = (settings.resolved_secret_key + settings.admin_token).encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def new_session(settings: Settings, now: float | None = None) -> str:
    issued = str(int(now or time.time()))
    return f"{issued}.{_sign(settings, 'session:' + issued)}"


def valid_session(settings: Settings, value: str | None, now: float | None = None) -> bool:
    issued, _, signature = (value or "").partition(".")
    if not issued.isdigit() or (now or time.time()) - int(issued) > SESSION_S:
        return False
    return hmac.compare_digest(signature, _sign(settings, "session:" + issued))


def csrf_token(settings: Settings, session: str) -> str:
    return _sign(settings, "csrf:" + session)


def token_matches(settings: Settings, given: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), settings.admin_token.encode())


def logged_in(request: Request, settings: Settings) -> bool:
    """A valid session cookie, and for unsafe methods its CSRF token in the header."""
    session = request.cookies.get(COOKIE)
    if not valid_session(settings, session):
        return False
    if request.method in SAFE_METHODS:
        return True
    given = request.headers.get("X-CSRF-Token", "")
    return hmac.compare_digest(given, csrf_token(settings, session or ""))
