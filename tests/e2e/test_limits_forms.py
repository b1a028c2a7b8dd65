"""Where people set limits: an API call's rate limit and in-flight cap on its form, and a
blueprint's concurrency key in the editor's blueprint panel."""

from __future__ import annotations

import os

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import put_api_call, refunds_call
from tests.e2e.helpers import create_blueprint, get_blueprint, linear_doc, open_editor

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("E2E_SHOTS")


async def test_an_api_calls_rate_limit_is_set_on_its_form(page: Page, http: httpx.AsyncClient) -> None:
    await put_api_call(http, refunds_call("e2e-limited", "e2e_limited_fail"))
    await page.goto("/api-calls/e2e-limited")
    section = page.locator("[data-limits]")
    await section.locator("summary").click()
    await section.locator("input[name=rate_limit_per_s]").fill("0")
    await page.locator("[data-action=save]").click()
    await expect(page.locator("[data-limits] input[name=rate_limit_per_s] ~ .field-msg")).to_contain_text(
        "greater than 0")
    section = page.locator("[data-limits]")
    await section.locator("input[name=rate_limit_per_s]").fill("5")
    await section.locator("input[name=rate_limit_burst]").fill("10")
    await section.locator("input[name=max_in_flight]").fill("2")
    await page.locator("[data-action=save]").click()
    await page.wait_for_url("**/api-calls/e2e-limited?saved=true")
    saved = (await http.get("/api/api-calls/e2e-limited")).json()
    assert (saved["rate_limit"], saved["max_in_flight"]) == ({"per_s": 5, "burst": 10}, 2)
    await expect(page.locator("[data-limits]")).to_have_attribute("open", "")
    await expect(page.locator("input[name=rate_limit_per_s]")).to_have_value("5")
    if SHOTS:
        await page.locator("[data-limits]").screenshot(path=f"{SHOTS}/rate-limit.png")


async def test_a_blueprints_concurrency_key_is_set_in_the_editor(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-keyed"))
    await open_editor(page, "e2e-keyed")
    section = page.locator("#panel [data-concurrency]")
    await section.locator("summary").click()
    await section.locator("input[name='concurrency.key']").fill("input.customer_id")
    await section.locator("input[name='concurrency.limit']").fill("2")
    await section.locator("input[name='concurrency.limit']").blur()
    await page.click("[data-action=save]")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")
    draft = (await get_blueprint(server, "e2e-keyed"))["draft"]
    assert draft["concurrency"] == {"key": "input.customer_id", "limit": 2}
    if SHOTS:
        await page.locator("#panel").screenshot(path=f"{SHOTS}/concurrency-panel.png")

    await section.locator("input[name='concurrency.key']").fill("")
    await section.locator("input[name='concurrency.key']").blur()
    await page.click("[data-action=save]")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")
    assert "concurrency" not in (await get_blueprint(server, "e2e-keyed"))["draft"]
