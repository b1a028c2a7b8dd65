"""The dashboard: orders by state (each a link to the list), finished per minute over the last
hour, recent failures, the slowest and most-failing steps of the last hour; it follows
orders live."""

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
    wait_for,
)

pytestmark = pytest.mark.browser


async def test_counts_chart_and_failures_follow_orders(page: Page, http: httpx.AsyncClient) -> None:
    await put_variable(http, "e2e_dash_fail", "always")
    slow = refunds_call("e2e-dash-call", "e2e_dash_fail")
    slow["url"] += "&delay_ms=300"  # slower than any other step of the e2e runs
    await put_api_call(http, slow)
    await publish(http, chain("e2e-dash", call_step("e2e-dash-call")))
    await create_orders(http, "e2e-dash", ["dash-1", "dash-2"])
    await wait_for(http, ["dash-1", "dash-2"], {"failed"})

    await page.goto("/")
    failures = page.locator("#recent-failures")
    await expect(failures.locator("li[data-order=dash-2]")).to_contain_text("HTTP 500")
    await expect(failures.locator("li[data-order=dash-2]")).to_contain_text("e2e-dash · call")
    assert await page.locator(".chart .chart-bad").count() >= 1
    slowest = page.locator("#slowest-steps tr[data-blueprint=e2e-dash][data-node=call]")
    await expect(slowest).to_be_visible()
    assert float((await slowest.locator(".figure").inner_text()).split()[0]) >= 300  # ms
    failing = page.locator("#failing-steps tr[data-blueprint=e2e-dash][data-node=call]")
    await expect(failing).to_contain_text("100%")
    await expect(failing.locator("a")).to_have_attribute(
        "href", "/orders?blueprint=e2e-dash&failed_node=call")
    failed = page.locator("[data-stat=failed] .stat-value")
    before = int(await failed.inner_text())
    assert before >= 2

    await create_orders(http, "e2e-dash", ["dash-3"])  # the page updates by itself
    await expect(failures.locator("li").first).to_have_attribute("data-order", "dash-3", timeout=10_000)
    await expect(failed).to_have_text(str(before + 1))

    await page.click("[data-stat=failed]")
    await page.wait_for_url("**/orders?state=failed")
    await expect(page.locator(".state-tab.is-active")).to_have_attribute("data-tab", "failed")
