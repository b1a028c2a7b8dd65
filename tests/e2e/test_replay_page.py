"""The replay page as a user opens it from the editor: past orders run through an edited
draft, the changed ones first with the step where they part; and a condition's step on the
timeline explained with the values its expression read."""

from __future__ import annotations

import os
import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import create_orders, publish, wait_for

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("E2E_SHOTS")
COUNTRIES = {"rp-us-1": "US", "rp-us-2": "US", "rp-ca-1": "CA", "rp-de-1": "DE"}


def routed(expression: str) -> dict:
    return {"id": "e2e-replay-page", "name": "Replay routing", "nodes": [
        {"id": "start", "type": "start"},
        {"id": "is_us", "type": "condition", "label": "Ships from the US?", "expression": expression},
        {"id": "us", "type": "end", "status": "completed", "result": "'domestic'"},
        {"id": "abroad", "type": "end", "status": "completed", "result": "'abroad'"}],
        "edges": [{"source": "start", "target": "is_us"},
                  {"source": "is_us", "target": "us", "kind": "true"},
                  {"source": "is_us", "target": "abroad", "kind": "false"}]}


@pytest.fixture
async def past_orders(http: httpx.AsyncClient) -> None:
    """Four orders run on v1 (once: the server is the session's)."""
    if (await http.get("/api/blueprints/e2e-replay-page")).status_code == 404:
        await publish(http, routed("input.country == 'US'"))
        for order_id, country in COUNTRIES.items():
            await create_orders(http, "e2e-replay-page", [order_id], {"country": country})
    await wait_for(http, list(COUNTRIES), {"completed"})


async def test_the_replay_page_shows_which_orders_change_and_where(
        page: Page, http: httpx.AsyncClient, past_orders: None) -> None:
    draft = routed("input.country in ['US', 'CA']")  # Canada now ships as domestic
    assert (await http.put("/api/blueprints/e2e-replay-page", json=draft)).status_code == 200

    await page.goto("/blueprints/e2e-replay-page/replay?version=draft&limit=10")
    summary = page.locator("[data-replay-summary]")
    await expect(summary).to_have_attribute("data-changed", "1", timeout=30_000)
    await expect(summary).to_have_attribute("data-same", "3")
    rows = page.locator("#replay-table tbody tr")
    await expect(rows).to_have_count(4)
    changed = rows.first  # changed orders come first
    await expect(changed).to_have_attribute("data-order", "rp-ca-1")
    await expect(changed.locator("[data-difference]")).to_have_attribute("data-difference", "is_us")
    await expect(changed.locator("[data-difference] summary")).to_contain_text(
        "Ships from the US?")
    await expect(changed.locator("[data-difference] summary")).to_contain_text("was false, now true")
    await expect(changed).to_contain_text('"abroad"')
    await expect(changed).to_contain_text('"domestic"')
    await expect(page.locator("[data-step=is_us]")).to_contain_text("1 changed")
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/replay-page.png", full_page=True)

    await page.select_option("select[name=version]", "1")  # the published version: all the same
    await page.click("#replay-form button[type=submit]")
    await expect(page).to_have_url(re.compile(r"version=1"))
    await expect(summary).to_have_attribute("data-changed", "0", timeout=30_000)
    await expect(summary).to_have_attribute("data-same", "4")


async def test_a_conditions_step_shows_what_it_read(page: Page, past_orders: None) -> None:
    await page.goto("/orders/rp-ca-1")
    step = page.locator(".tl-item[data-node=is_us]")
    await step.locator("summary").click()
    explain = step.locator("[data-explain]")
    await expect(explain).to_be_visible()
    await expect(explain).to_contain_text("input.country")
    await expect(explain.locator("[data-read]")).to_contain_text('"CA"')
    await expect(explain.locator("[data-outcome]")).to_have_text("false")
    if SHOTS:
        await step.screenshot(path=f"{SHOTS}/condition-explained.png")


async def test_a_bad_replay_link_is_a_clear_error(page: Page, past_orders: None) -> None:
    response = await page.goto("/blueprints/e2e-replay-page/replay?version=latest")
    assert response is not None and response.status == 422
    response = await page.goto("/blueprints/nope/replay")
    assert response is not None and response.status == 404
    await page.goto("/blueprints/e2e-replay-page/replay?version=7")
    await expect(page.locator("[data-replay-problem]")).to_contain_text("no version 7")
