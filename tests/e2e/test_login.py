"""With ADMIN_TOKEN set, pages need a login, and htmx requests from a logged-in page carry the
session's CSRF token (inherited from <body>), so forms keep working."""

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
    await context.close()
    assert not errors
