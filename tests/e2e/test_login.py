"""With ADMIN_TOKEN set, pages need a login, and htmx requests from a logged-in page carry the
session's CSRF token (inherited from <body>), so forms keep working; the layout's Log out
button ends the session on the server, so a kept copy of the cookie no longer works."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.browser


async def test_pages_log_in_and_htmx_forms_carry_csrf(browser: Browser, guarded_server: str) -> None:
    context = await browser.new_context(base_url=guarded_server)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto("/variables")
    await page.wait_for_url("**/login?next=/variables")
    await page.fill("input[name=token]", ADMIN_TOKEN)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/variables")

    await page.locator("#variable-form input[name=name]").fill("behind_login")
    await page.locator("#variable-form input[name=value]").fill("ok")
    await page.locator("#variable-form button[type=submit]").click()
    await expect(page.locator("tr[data-variable=behind_login] .var-value")).to_have_text("ok")

    await page.goto("/orders")  # a page that also needs no Redis to render
    await expect(page.locator("h1")).to_have_text("Orders")
    refused = await context.request.post("/variables", form={"name": "no_csrf", "value": "x"},
                                         max_redirects=0)
    assert refused.status == 303  # a session without its CSRF token is sent to log in
    no_csrf_logout = await context.request.post("/logout", max_redirects=0)
    assert no_csrf_logout.status == 403  # and cannot be logged out by another site either
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Orders")  # still logged in

    kept = [cookie for cookie in await context.cookies() if cookie["name"] == "waybill_session"]
    assert len(kept) == 1
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url("**/login")
    await expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    await page.goto("/orders")
    await page.wait_for_url("**/login?next=/orders")

    await context.add_cookies(kept)  # a copy of the old cookie is refused by pages and the API
    await page.goto("/variables")
    await page.wait_for_url("**/login?next=/variables")
    api = await context.request.get("/api/variables")
    assert api.status == 401
    await context.close()
    assert not errors
