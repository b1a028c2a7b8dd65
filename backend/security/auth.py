"""With ADMIN_TOKEN set: the API takes it as a bearer token; people log in once with it and
get a session cookie, and every unsafe request made with that cookie must carry the session's
CSRF token (`X-CSRF-Token`; the logout form sends it as the `csrf_token` field).

Sessions live on the server. Logging in makes a `sessions` row
(`backend.security.login_sessions`) that holds only the SHA-256 of a random token; the cookie
(HttpOnly, SameSite=Lax, Secure when the request came over https) carries
`<token>.<signature>`, an HMAC with SECRET_KEY and ADMIN_TOKEN, so changing either ends
every session. Every request with the cookie checks
that its row exists, is not revoked and has not expired (7 days); logging out revokes the
row, so the cookie stops working everywhere at once. The CSRF token is an HMAC of the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.security.login_sessions import LoginSession

COOKIE = "waybill_session"
SESSION_S = 7 * 86_400
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_CHECKED = "waybill_session_live"  # request.state: the cookie's row was looked up already


def _sign(settings: Settings, message: str) -> str:
    key = (settings.resolved_secret_key + settings.admin_token).encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _equal(given: str, expected: str) -> bool:
    """Constant-time, and safe for any header text (compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _token_hash(value: str) -> str:
    return hashlib.sha256(value.partition(".")[0].encode()).hexdigest()


def valid_session(settings: Settings, value: str | None) -> bool:
    """Whether a cookie is one this installation signed with the current ADMIN_TOKEN. This
    is the signature only; `session_active` also checks the session's row."""
    token, _, signature = (value or "").partition(".")
    return bool(token) and bool(signature) and _equal(signature, _sign(settings, "session:" + token))


async def start_session(db: AsyncSession, settings: Settings,
                        now: datetime | None = None) -> str:
    """A new session row (expired ones are pruned); answers the cookie value."""
    now = now or utcnow()
    await db.exec(delete(LoginSession).where(LoginSession.expires_at < now))  # type: ignore[call-overload, arg-type]
    token = secrets.token_urlsafe(32)
    db.add(LoginSession(token_hash=_token_hash(token), created_at=now,
                        expires_at=now + timedelta(seconds=SESSION_S)))
    await db.commit()
    return f"{token}.{_sign(settings, 'session:' + token)}"


async def session_active(db: AsyncSession, settings: Settings, value: str | None,
                         now: datetime | None = None) -> bool:
    """A signed cookie whose row exists, is not revoked and has not expired."""
    if not valid_session(settings, value):
        return False
    row = await db.get(LoginSession, _token_hash(value or ""))
    return row is not None and row.revoked_at is None and row.expires_at > (now or utcnow())


async def end_session(db: AsyncSession, value: str, now: datetime | None = None) -> None:
    """Revoke the cookie's session (the row stays until it expires, then login prunes it)."""
    row = await db.get(LoginSession, _token_hash(value))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
        await db.commit()


def csrf_token(settings: Settings, session: str) -> str:
    return _sign(settings, "csrf:" + session)


def csrf_matches(settings: Settings, session: str, given: str) -> bool:
    return bool(given) and bool(session) and _equal(given, csrf_token(settings, session))


def token_matches(settings: Settings, given: str) -> bool:
    return bool(given) and bool(settings.admin_token) and _equal(given, settings.admin_token)


def metrics_token_matches(settings: Settings, given: str) -> bool:
    return bool(given) and bool(settings.metrics_token) and _equal(given, settings.metrics_token)


async def current_session(request: Request, settings: Settings,
                          sessions: async_sessionmaker[AsyncSession]) -> str | None:
    """The request's session cookie if its session is live (looked up once per request)."""
    value = request.cookies.get(COOKIE)
    if not value or not valid_session(settings, value):
        return None
    checked = getattr(request.state, _CHECKED, None)
    if checked is None or checked[0] != value:
        async with sessions() as db:
            checked = (value, await session_active(db, settings, value))
        setattr(request.state, _CHECKED, checked)
    return value if checked[1] else None


def checked_session(request: Request) -> str | None:
    """The session cookie if `current_session` found it live during this request."""
    checked = getattr(request.state, _CHECKED, None)
    return checked[0] if checked is not None and checked[1] else None


async def logged_in(request: Request, settings: Settings,
                    sessions: async_sessionmaker[AsyncSession]) -> bool:
    """A live session cookie, and for unsafe methods its CSRF token in the header."""
    session = await current_session(request, settings, sessions)
    if session is None:
        return False
    if request.method in SAFE_METHODS:
        return True
    return csrf_matches(settings, session, request.headers.get(CSRF_HEADER, ""))
