"""The orders list: filters, keyset pages, live counts and rows, bulk reprocess (previewed by a
dry run) and bulk cancel. Each test runs orders of a blueprint of its own."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import (
    call_step,
    chain,
    create_orders,
    publish,
    put_api_call,
    put_variable,
    refunds_call,
    sleep_step,
    wait_for,
)

pytestmark = pytest.mark.browser


def tab(page: Page, state: str):  # noqa: ANN201
    return page.locator(f".state-tab[data-tab={state}] .tab-count")


async def test_filters_pages_and_live_counts(page: Page, http: httpx.AsyncClient) -> None:
    await publish(http, chain("e2e-list", sleep_step()))
    ids = [f"list-{n:03d}" for n in range(55)]
    await create_orders(http, "e2e-list", ids)
    await wait_for(http, ids, {"sleeping"})

    await page.goto("/orders?blueprint=e2e-list")
    await expect(page.locator("#orders-table tbody tr")).to_have_count(50)
    await expect(tab(page, "sleeping")).to_have_text("55")
    await expect(page.locator("#orders-table tbody tr").first).to_have_attribute("data-order", "list-054")
    await page.click("text=Older »")
    await expect(page.locator("#orders-table tbody tr")).to_have_count(5)
    assert "cursor=" in page.url
    await expect(page.locator("#orders-table tbody tr").last).to_have_attribute("data-order", "list-000")

    await page.fill("#order-filter input[name=order_id]", "list-05")
    await page.wait_for_url("**order_id=list-05**")
    assert "cursor" not in page.url
    await expect(page.locator("#orders-table tbody tr")).to_have_count(5)
    await expect(page.locator("#orders-table tbody tr").first).to_have_attribute("data-order", "list-054")
    await page.click(".state-tab[data-tab=completed]")
    await expect(page.locator(".empty-inline")).to_contain_text("No orders match")
    await page.click(".state-tab[data-tab=all]")

    # a new order shows up (count and row) without reloading the page
    await create_orders(http, "e2e-list", ["list-055"])
    await expect(tab(page, "all")).to_have_text("6", timeout=8000)
    await expect(page.locator("tr[data-order=list-055]")).to_be_visible()


async def test_bulk_reprocess_is_previewed_then_runs(page: Page, http: httpx.AsyncClient) -> None:
    await put_variable(http, "e2e_bulk_fail", "always")
    await put_api_call(http, refunds_call("e2e-bulk-call", "e2e_bulk_fail"))
    await publish(http, chain("e2e-bulk", call_step("e2e-bulk-call")))
    ids = ["bulk-1", "bulk-2", "bulk-3"]
    await create_orders(http, "e2e-bulk", ids)
    await wait_for(http, ids, {"failed"})
    await put_variable(http, "e2e_bulk_fail", "0")  # the service recovers

    await page.goto("/orders?blueprint=e2e-bulk&state=failed")
    await expect(page.locator("#orders-table tbody tr")).to_have_count(3)
    await page.check("tr[data-order=bulk-1] input[name=order_ids]")
    await page.check("tr[data-order=bulk-2] input[name=order_ids]")
    await expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    await page.click("text=Reprocess…")

    dialog = page.locator("#bulk-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("[data-preview]")).to_have_attribute("data-count", "2")
    await dialog.locator("input[name=from][value=failed]").check()
    await expect(dialog.locator(".mini-table")).to_contain_text("call")
    await dialog.locator("input[name=mode][value=filter]").check()  # every failed order of the filter
    await expect(dialog.locator("[data-preview]")).to_have_attribute("data-count", "3")
    await dialog.locator("input[name=mode][value=selected]").check()
    await expect(dialog.locator("[data-preview]")).to_have_attribute("data-count", "2")
    assert (await http.get("/api/orders/bulk-1")).json()["state"] == "failed"  # a preview only

    await dialog.locator("[data-confirm-reprocess]").click()
    await expect(dialog.locator("[data-result]")).to_contain_text("2 orders sent to run again")
    found = await wait_for(http, ids[:2], {"completed"})
    assert [s["node"] for s in found["bulk-1"]["steps"]][-2:] == ["call", "done"]
    await dialog.locator("text=Done").click()
    await expect(tab(page, "completed")).to_have_text("2", timeout=8000)
    await expect(tab(page, "failed")).to_have_text("1")
    await expect(page.locator("input[name=order_ids]:checked")).to_have_count(0)


async def test_bulk_reprocess_defaults_to_the_failed_step_and_warns_about_the_start(
        page: Page, http: httpx.AsyncClient) -> None:
    """The dialog preselects "the failed step"; choosing "the start" warns that calls that
    already succeeded (refunds) run again, and the preview restarts at the start."""
    await put_variable(http, "e2e_default_fail", "always")
    await put_api_call(http, refunds_call("e2e-default-call", "e2e_default_fail"))
    await publish(http, chain("e2e-default", call_step("e2e-default-call")))
    ids = ["default-1", "default-2"]
    await create_orders(http, "e2e-default", ids)
    await wait_for(http, ids, {"failed"})

    await page.goto("/orders?blueprint=e2e-default&state=failed")
    await expect(page.locator("#orders-table tbody tr")).to_have_count(2)
    await page.click("text=Reprocess…")
    dialog = page.locator("#bulk-dialog")
    warning = dialog.locator("[data-start-warning]")
    await expect(dialog.locator("[data-preview]")).to_have_attribute("data-count", "2")
    await expect(dialog.locator("input[name=from][value=failed]")).to_be_checked()
    await expect(dialog.locator("input[name=from][value=start]")).not_to_be_checked()
    await expect(dialog.locator(".mini-table tbody")).to_have_text("call2")
    await expect(warning).to_have_count(0)

    await dialog.locator("input[name=from][value=start]").check()
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text(
        "Runs every step again, including API calls that already succeeded, such as refunds")
    await expect(dialog.locator(".mini-table tbody")).to_have_text("start2")
    await expect(dialog.locator("input[name=from][value=start]")).to_be_checked()
    await page.screenshot(path="/tmp/orders-bulk-reprocess-from-start.png")

    await dialog.locator("input[name=from][value=failed]").check()
    await expect(warning).to_have_count(0)
    await expect(dialog.locator(".mini-table tbody")).to_have_text("call2")
    await dialog.locator("[data-confirm-reprocess]").click()
    await expect(dialog.locator("[data-result]")).to_contain_text(
        "2 orders sent to run again from their failed step")


async def test_bulk_cancel_stops_the_ticked_orders(page: Page, http: httpx.AsyncClient) -> None:
    await publish(http, chain("e2e-cancel", sleep_step()))
    ids = ["cancel-1", "cancel-2", "cancel-3"]
    await create_orders(http, "e2e-cancel", ids)
    await wait_for(http, ids, {"sleeping"})

    await page.goto("/orders?blueprint=e2e-cancel")
    await page.check("[data-select-all]")
    await page.uncheck("tr[data-order=cancel-3] input[name=order_ids]")
    await expect(page.locator("[data-select-all]")).not_to_be_checked()
    await page.click("text=Cancel…")
    dialog = page.locator("#bulk-dialog")
    await expect(dialog).to_contain_text("2 active orders will stop before their next step")
    await dialog.locator("[data-confirm-cancel]").click()
    await expect(dialog.locator("[data-result]")).to_contain_text("2 orders cancelled")
    await dialog.locator("text=Done").click()
    await expect(tab(page, "cancelled")).to_have_text("2", timeout=8000)
    found = await wait_for(http, ids, {"cancelled", "sleeping"})
    assert [found[i]["state"] for i in ids] == ["cancelled", "cancelled", "sleeping"]


async def test_bulk_cancel_by_filter(page: Page, http: httpx.AsyncClient) -> None:
    await publish(http, chain("e2e-cancel-all", sleep_step()))
    ids = ["all-1", "all-2", "all-3"]
    await create_orders(http, "e2e-cancel-all", ids)
    await wait_for(http, ids, {"sleeping"})

    await page.goto("/orders?blueprint=e2e-cancel-all")
    await page.click("text=Cancel…")  # nothing ticked: every active order of the filter
    dialog = page.locator("#bulk-dialog")
    await expect(dialog.locator("input[name=mode][value=filter]")).to_be_checked()
    await expect(dialog).to_contain_text("3 active orders will stop before their next step")
    await dialog.locator("[data-confirm-cancel]").click()
    await expect(dialog.locator("[data-result]")).to_contain_text("3 orders cancelled")
    found = await wait_for(http, ids, {"cancelled"})
    assert {found[i]["state"] for i in ids} == {"cancelled"}
