"""With ADMIN_TOKEN set, pages need a login and unsafe cookie requests a CSRF token."""

import re

import httpx
import pytest

from backend.main import create_app


@pytest.fixture
async def guarded(settings):
    app = create_app(settings.model_copy(update={"admin_token": "s3cret-admin"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://waybill") as http:
            yield http


async def test_pages_redirect_to_login(guarded):
    response = await guarded.get("/blueprints")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/blueprints"


async def test_a_wrong_token_does_not_log_in(guarded):
    response = await guarded.post("/login", data={"token": "nope", "next": "/blueprints"})
    assert response.status_code == 401
    assert "waybill_session" not in response.cookies


async def test_login_then_pages_and_api_with_csrf(guarded):
    response = await guarded.post("/login", data={"token": "s3cret-admin", "next": "//evil.com"})
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
