"""With ADMIN_TOKEN set, pages need a login and unsafe cookie requests a CSRF token; sessions
live on the server, so logging out (which needs the CSRF token) ends them everywhere."""

import hashlib
import re
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from backend.app.main import create_app
from backend.core.db import utcnow

ADMIN = "s3cret-admin"


@asynccontextmanager
async def app_client(settings, base_url="http://waybill", **update):
    app = create_app(settings.model_copy(update={"admin_token": ADMIN, **update}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            http.app = app
            yield http


@pytest.fixture
async def guarded(settings):
    async with app_client(settings) as http:
        yield http


async def logged_in(client) -> str:
    """Log in; answers the page's CSRF token."""
    response = await client.post("/login", data={"token": ADMIN, "next": "/blueprints"})
    assert response.status_code == 303, response.text
    page = await client.get("/blueprints")
    assert page.status_code == 200
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text).group(1)


async def session_rows(client) -> list[dict]:
    async with client.app.state.waybill.sessions() as db:
        found = await (await db.connection()).execute(text("SELECT * FROM sessions"))
        return [dict(row._mapping) for row in found]


async def test_pages_redirect_to_login(guarded):
    response = await guarded.get("/blueprints")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/blueprints"


async def test_a_wrong_token_does_not_log_in(guarded):
    response = await guarded.post("/login", data={"token": "nope", "next": "/blueprints"})
    assert response.status_code == 401
    assert "waybill_session" not in response.cookies
    assert await session_rows(guarded) == []


async def test_login_then_pages_and_api_with_csrf(guarded):
    response = await guarded.post("/login", data={"token": ADMIN, "next": "//evil.com"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    page = await guarded.get("/blueprints")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text).group(1)
    assert (await guarded.get("/api/blueprints")).status_code == 200
    body = {"id": "b", "name": "B"}
    assert (await guarded.post("/api/blueprints", json=body)).status_code == 401
    wrong = await guarded.post("/api/blueprints", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 401
    made = await guarded.post("/api/blueprints", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


async def test_a_forged_cookie_is_refused(guarded):
    guarded.cookies.set("waybill_session", "1999999999.deadbeef")
    assert (await guarded.get("/api/blueprints")).status_code == 401
    assert (await guarded.get("/blueprints")).status_code == 303


async def test_the_session_row_keeps_only_a_hash_of_the_token(guarded):
    await logged_in(guarded)
    cookie = guarded.cookies["waybill_session"]
    token = cookie.partition(".")[0]
    [row] = await session_rows(guarded)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row) and row["revoked_at"] is None


async def test_the_page_has_a_logout_form_with_the_csrf_token(guarded):
    csrf = await logged_in(guarded)
    page = (await guarded.get("/blueprints")).text
    form = re.search(r'<form method="post" action="/logout".*?</form>', page, re.S).group(0)
    assert f'name="csrf_token" value="{csrf}"' in form
    assert 'action="/logout"' not in (await guarded.get("/login")).text.split("<main")[1]


@pytest.mark.parametrize("csrf", [None, "", "0" * 64, "wrong"])
async def test_logout_without_the_csrf_token_is_refused_and_the_session_stays(guarded, csrf):
    await logged_in(guarded)
    data = {"csrf_token": csrf} if csrf is not None else {}
    response = await guarded.post("/logout", data=data)
    assert response.status_code == 403
    assert set(response.json()) == {"type", "detail", "errors"}
    assert response.json()["type"] == "forbidden"
    header = await guarded.post("/logout", headers={"X-CSRF-Token": csrf or ""})
    assert header.status_code == 403
    assert (await guarded.get("/blueprints")).status_code == 200
    assert (await guarded.get("/api/blueprints")).status_code == 200


@pytest.mark.parametrize("how", ["form", "header"])
async def test_logout_ends_the_session_for_pages_and_the_api(guarded, how):
    csrf = await logged_in(guarded)
    cookie = guarded.cookies["waybill_session"]
    kwargs = {"data": {"csrf_token": csrf}} if how == "form" else {
        "headers": {"X-CSRF-Token": csrf}}
    response = await guarded.post("/logout", **kwargs)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert "waybill_session" not in guarded.cookies  # the browser forgets it
    [row] = await session_rows(guarded)
    assert row["revoked_at"] is not None

    guarded.cookies.set("waybill_session", cookie)  # someone kept a copy: it no longer works
    assert (await guarded.get("/blueprints")).status_code == 303
    assert (await guarded.get("/api/blueprints")).status_code == 401
    assert (await guarded.get("/openapi.json")).status_code == 401
    assert (await guarded.get("/docs")).status_code == 303
    made = await guarded.post("/api/blueprints", json={"id": "b", "name": "B"},
                              headers={"X-CSRF-Token": csrf})
    assert made.status_code == 401
    assert "csrf-token\" content=\"\"" in (await guarded.get("/login")).text


async def test_an_expired_or_deleted_session_is_refused(guarded):
    await logged_in(guarded)
    async with guarded.app.state.waybill.sessions() as db:
        await (await db.connection()).execute(
            text("UPDATE sessions SET expires_at = :at"), {"at": utcnow() - timedelta(seconds=1)})
        await db.commit()
    assert (await guarded.get("/blueprints")).status_code == 303
    assert (await guarded.get("/api/blueprints")).status_code == 401
    await logged_in(guarded)
    assert len(await session_rows(guarded)) == 1  # logging in pruned the expired row
    async with guarded.app.state.waybill.sessions() as db:
        await (await db.connection()).execute(text("DELETE FROM sessions"))
        await db.commit()
    assert (await guarded.get("/api/blueprints")).status_code == 401


async def test_a_new_admin_token_ends_existing_sessions(settings):
    async with app_client(settings) as first:
        await logged_in(first)
        cookie = first.cookies["waybill_session"]
    async with app_client(settings, admin_token="rotated-admin-token") as rotated:
        rotated.cookies.set("waybill_session", cookie)
        assert (await rotated.get("/blueprints")).status_code == 303
        assert (await rotated.get("/api/blueprints")).status_code == 401
    async with app_client(settings) as same:  # the same token again: the row is still live
        same.cookies.set("waybill_session", cookie)
        assert (await same.get("/api/blueprints")).status_code == 200


async def test_logged_in_pages_open_the_api_docs(guarded):
    await logged_in(guarded)
    assert (await guarded.get("/docs")).status_code == 200
    assert (await guarded.get("/redoc")).status_code == 200
    assert (await guarded.get("/openapi.json")).status_code == 200
    assert (await guarded.get("/metrics")).status_code == 200


async def test_the_cookie_is_secure_over_https_only(settings):
    async with app_client(settings, base_url="https://waybill") as https:
        response = await https.post("/login", data={"token": ADMIN, "next": "/"})
        cookie = response.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert (await https.get("/blueprints")).status_code == 200  # sent back over https
        csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"',
                         (await https.get("/blueprints")).text).group(1)
        logout = await https.post("/logout", data={"csrf_token": csrf})
        assert "secure" in logout.headers["set-cookie"].lower()
    async with app_client(settings) as http:
        response = await http.post("/login", data={"token": ADMIN, "next": "/"})
        assert "secure" not in response.headers["set-cookie"].lower()


async def test_logging_in_again_ends_the_previous_session(guarded):
    await logged_in(guarded)
    first = guarded.cookies["waybill_session"]
    await logged_in(guarded)
    assert guarded.cookies["waybill_session"] != first
    assert (await guarded.get("/api/blueprints")).status_code == 200
    guarded.cookies.clear()
    guarded.cookies.set("waybill_session", first)
    assert (await guarded.get("/api/blueprints")).status_code == 401
