"""API calls (form, field errors, try it through the worker's checks), credentials (write-only
secrets, redacted in a try), variables (text or JSON, edit in place); all user text escaped."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import put_api_call, put_variable, refunds_call

pytestmark = pytest.mark.browser
TOKEN = "s3cr3t-e2e-token-value"


async def test_api_call_form_field_errors_save_and_try(page: Page, http: httpx.AsyncClient) -> None:
    await http.delete("/api/api-calls/e2e-form-call")
    await put_variable(http, "e2e_form_fail", "0")
    await page.goto("/api-calls")
    await page.click("text=New API call")
    form = page.locator("#api-call-form")
    await form.locator("input[name=name]").fill("E2E form call")
    await expect(form.locator("input[name=id]")).to_have_value("e2e-form-call")
    await form.locator("input[name=url]").fill("{{ variables.demo_url }/refunds")
    await form.locator("textarea[name=headers]").fill('["not", "an object"]')
    await form.locator("[data-action=save]").click()
    await expect(form.locator("textarea[name=headers] + .field-msg")).to_contain_text("JSON object")
    await form.locator("textarea[name=headers]").fill('{"X-Note": "<script>alert(1)</script>"}')
    await form.locator("[data-action=save]").click()
    await expect(form.locator("input[name=url] ~ .field-msg")).to_be_visible()
    await expect(form.locator("input[name=url]")).to_have_attribute("aria-invalid", "true")
    url = "{{ variables.demo_url }}/refunds?fail={{ variables.e2e_form_fail }}"
    await form.locator("input[name=url]").fill(url)
    await form.locator("[data-action=save]").click()
    await page.wait_for_url("**/api-calls/e2e-form-call?saved=true")
    await expect(page.locator("#form-messages")).to_contain_text("Saved.")
    await expect(page.locator("textarea[name=headers]")).to_contain_text("<script>alert(1)</script>")

    await page.click("[data-action=try]")
    result = page.locator("#try-result .try-result")
    await expect(result).to_have_attribute("data-ok", "true")
    await expect(result).to_contain_text("HTTP 200")
    await expect(result.locator(".http-line")).to_contain_text("/demo/refunds?fail=0")

    await put_variable(http, "e2e_form_fail", "always")
    await page.click("[data-action=try]")
    await expect(result).to_have_attribute("data-ok", "false")
    await expect(result).to_contain_text("a step would retry this")


async def test_try_refuses_private_destinations(page: Page, http: httpx.AsyncClient) -> None:
    await put_api_call(http, {"id": "e2e-metadata", "name": "Cloud metadata", "method": "GET",
                              "url": "http://169.254.169.254/latest/meta-data/"})
    await page.goto("/api-calls/e2e-metadata")
    await page.click("[data-action=try]")
    result = page.locator("#try-result .try-result")
    await expect(result).to_have_attribute("data-ok", "false")
    await expect(result).to_contain_text("destination_refused")


async def test_credentials_are_write_only_and_redacted(page: Page, http: httpx.AsyncClient) -> None:
    await http.delete("/api/api-calls/e2e-cred-call")
    await http.delete("/api/credentials/e2e-token")
    await page.goto("/credentials")
    form = page.locator("#credential-form")
    await form.locator("input[name=name]").fill("E2E <token>")
    await expect(form.locator("input[name=id]")).to_have_value("e2e-token")
    await form.locator("select[name=type]").select_option("basic")
    await expect(form.locator("input[name=username]")).to_be_visible()
    await form.locator("select[name=type]").select_option("bearer")
    await form.locator("input[name=token]").fill(TOKEN)
    await form.locator("[data-action=save-credential]").click()
    row = page.locator("tr[data-credential=e2e-token]")
    await expect(row).to_contain_text("E2E <token>")
    assert TOKEN not in await page.content()
    await expect(page.locator("#credential-form input[name=name]")).to_have_value("")

    await put_variable(http, "e2e_cred_fail", "0")
    spec = refunds_call("e2e-cred-call", "e2e_cred_fail") | {"credential": "e2e-token"}
    await put_api_call(http, spec)
    await page.goto("/api-calls/e2e-cred-call")
    await page.click("[data-action=try]")
    result = page.locator("#try-result .try-result")
    await expect(result).to_have_attribute("data-ok", "true")
    await expect(result).to_contain_text('"credential": "e2e-token"')  # named, never shown
    assert TOKEN not in await page.content()

    await page.goto("/credentials")
    page.on("dialog", lambda dialog: dialog.accept())
    await row.locator("text=Delete").click()
    await expect(page.locator(".flash-error")).to_contain_text("used by: e2e-cred-call")
    await row.locator("text=Replace secret").click()
    await expect(page.locator("#credential-form h2")).to_contain_text("Replace")
    await page.locator("#credential-form input[name=token]").fill("rotated-" + TOKEN)
    await page.locator("#credential-form [data-action=save-credential]").click()
    await expect(page.locator(".flash-ok")).to_contain_text("replaced")


async def test_variables_add_edit_delete(page: Page, http: httpx.AsyncClient) -> None:
    for name in ("e2e_shop", "e2e_limits"):
        await http.delete(f"/api/variables/{name}")
    await page.goto("/variables")
    form = page.locator("#variable-form")
    await form.locator("input[name=name]").fill("e2e_shop")
    await form.locator("input[name=value]").fill("<b>shop-1</b>")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("tr[data-variable=e2e_shop] .var-value")).to_have_text("<b>shop-1</b>")

    await page.locator("#variable-form input[name=name]").fill("e2e_limits")
    await page.locator("#variable-form select[name=kind]").select_option("json")
    await page.locator("#variable-form input[name=value]").fill("{max: 3}")
    await page.locator("#variable-form button[type=submit]").click()
    await expect(page.locator(".flash-error")).to_contain_text("not JSON")
    await page.locator("#variable-form input[name=value]").fill('{"max": 3}')
    await page.locator("#variable-form button[type=submit]").click()
    await expect(page.locator("tr[data-variable=e2e_limits]")).to_contain_text("JSON")
    assert (await http.get("/api/variables")).json()["data"]

    await page.locator("tr[data-variable=e2e_shop] >> text=Edit").click()
    await page.locator("tr[data-variable=e2e_shop] input[name=value]").fill("shop-2")
    await page.locator("tr[data-variable=e2e_shop] button[type=submit]").click()
    await expect(page.locator("tr[data-variable=e2e_shop] .var-value")).to_have_text("shop-2")
    page.on("dialog", lambda dialog: dialog.accept())
    await page.locator("tr[data-variable=e2e_shop] >> text=Delete").click()
    await expect(page.locator("tr[data-variable=e2e_shop]")).to_have_count(0)
    values = {v["name"]: v["value"] for v in (await http.get("/api/variables")).json()["data"]}
    assert values.get("e2e_limits") == {"max": 3} and "e2e_shop" not in values
