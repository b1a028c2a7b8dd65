"""Fix and rerun on a failed order's page: edit its input, run it again from the failed step,
watch it complete, and find the change (who, when, old and new input) on its timeline."""

from __future__ import annotations

import json
import os

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import call_step, chain, create_orders, publish, put_api_call, wait_for

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("E2E_SHOTS")


async def test_edit_a_failed_orders_input_and_rerun_it(page: Page, http: httpx.AsyncClient) -> None:
    await put_api_call(http, {
        "id": "e2e-rerun-call", "name": "Refunds (rerun)", "method": "GET",
        "url": "{{ variables.demo_url }}/refunds?fail={{ input.fail }}&fail_status=400",
        "retry": {"max_attempts": 1}})
    doc = chain("e2e-rerun", call_step("e2e-rerun-call", label="Look up refunds"))
    doc["input_schema"] = {"type": "object", "required": ["fail"],
                           "properties": {"fail": {"type": "string"}}}
    await publish(http, doc)
    await create_orders(http, "e2e-rerun", ["rerun-1"], {"fail": "always"})
    await wait_for(http, ["rerun-1"], {"failed"})

    await page.goto("/orders/rerun-1")
    await expect(page.locator(".order-head")).to_have_attribute("data-order-state", "failed")
    rerun = page.locator("[data-rerun]")
    await rerun.locator("summary").click()
    field = rerun.locator("[data-rerun-input]")
    assert json.loads(await field.input_value()) == {"fail": "always"}

    await field.fill('{"fail": 0}')  # not what the input schema allows
    await page.click("[data-action=rerun]")
    await expect(page.locator(".flash")).to_contain_text("input_schema")
    await expect(page.locator(".order-head")).to_have_attribute("data-order-state", "failed")
    await expect(page.locator("[data-rerun-input]")).to_have_value('{"fail": 0}')  # kept
    if SHOTS:
        await page.locator(".order-head").screenshot(path=f"{SHOTS}/rerun-form.png")

    await page.locator("[data-rerun-input]").fill('{"fail": "0"}')
    await expect(page.locator("input[name=from][value=failed]")).to_be_checked()
    await page.click("[data-action=rerun]")
    await expect(page.locator(".order-head")).to_have_attribute("data-order-state", "completed",
                                                                timeout=15_000)
    change = page.locator("#timeline .tl-item[data-audit=reprocessed]")
    await expect(change).to_have_count(1)
    await expect(change).to_contain_text("Rerun from the failed step")
    await expect(change).to_contain_text("admin (order page)")
    await expect(change.locator("[data-input-changed]")).to_be_visible()
    await change.locator("summary").click()
    await expect(change).to_contain_text("Input before")
    await expect(change.locator(".json-block").nth(0)).to_contain_text('"always"')
    await expect(change.locator(".json-block").nth(1)).to_contain_text('"0"')
    # the change sits between the failed attempt and the run after it
    statuses = await page.locator("#timeline .tl-item").evaluate_all(
        "items => items.map(i => i.dataset.audit ? 'rerun' : i.dataset.node + ':' + i.dataset.status)")
    assert statuses.index("call:failed") < statuses.index("rerun") < statuses.index("call:completed")
    await expect(page.locator(".order-side")).to_contain_text('"fail": "0"')
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/rerun.png", full_page=True)
