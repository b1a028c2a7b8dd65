"""One order's timeline: every attempt of every step with its request and response, live while
the order runs; wake a sleep, send a signal, cancel, reprocess; user data escaped."""

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
    signal_step,
    sleep_step,
    wait_for,
)

pytestmark = pytest.mark.browser
XSS = '<img src=x onerror="window.pwned=1">'


async def test_attempts_details_and_wake_now_live(page: Page, http: httpx.AsyncClient) -> None:
    await put_variable(http, "e2e_tl_fail", "1")  # the first attempt of each order fails
    await put_api_call(http, refunds_call("e2e-tl-call", "e2e_tl_fail", attempts=3))
    await publish(http, chain("e2e-timeline", call_step("e2e-tl-call", label=XSS), sleep_step("2d")))
    await create_orders(http, "e2e-timeline", ["tl-1"], {"note": XSS})
    await wait_for(http, ["tl-1"], {"sleeping"})

    await page.goto("/orders/tl-1")
    steps = page.locator("#timeline .tl-item[data-status]")
    await expect(steps).to_have_count(4)  # start, call twice, wait (sleeping)
    calls = page.locator(".tl-item[data-node=call]")
    first, second = calls.nth(0), calls.nth(1)
    await expect(first).to_have_attribute("data-status", "retrying")
    await expect(second).to_have_attribute("data-attempt", "2")
    await expect(second).to_have_attribute("data-status", "completed")
    await expect(first.locator(".tl-error")).to_contain_text("HTTP 500")
    await first.locator("summary").click()
    await expect(first.locator(".http-line")).to_contain_text("/demo/refunds?fail=1")
    await expect(first.locator(".json-block").first).to_contain_text("Idempotency-Key")
    await expect(page.locator(".order-side")).to_contain_text("<img src=x onerror=")  # as text
    await expect(first.locator(".tl-name")).to_contain_text(XSS)
    assert await page.locator(".order-side img, #timeline img").count() == 0
    await expect(page.locator(".facts")).to_contain_text("in 2 d")

    await page.click("[data-action=wake]")
    await expect(page.locator(".order-head")).to_have_attribute("data-order-state", "completed")
    await expect(page.locator("#timeline .tl-item[data-node=done]")).to_be_visible()
    await expect(page.locator(".order-side")).to_contain_text('"done"')  # the result
    assert await page.evaluate("window.pwned") is None
    # a step opened by the reader stays open while the timeline refreshes itself
    assert await first.locator("details").get_attribute("open") is not None


async def test_signal_cancel_and_reprocess(page: Page, http: httpx.AsyncClient) -> None:
    await publish(http, chain("e2e-signal", signal_step("approved")))
    await create_orders(http, "e2e-signal", ["sig-1", "sig-2"])
    await wait_for(http, ["sig-1", "sig-2"], {"waiting"})

    await page.goto("/orders/sig-1")
    form = page.locator(".signal-form")
    await expect(form.locator("input[name=name]")).to_have_value("approved")
    await form.locator("textarea[name=payload]").fill("{not json")
    await form.locator("[data-action=signal]").click()
    await expect(page.locator(".flash-error")).to_contain_text("not JSON")
    await page.locator(".signal-form textarea[name=payload]").fill('{"by": "e2e-tester"}')
    await page.locator(".signal-form [data-action=signal]").click()
    await expect(page.locator(".order-head")).to_have_attribute("data-order-state", "completed")
    await expect(page.locator(".order-side")).to_contain_text("e2e-tester")

    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto("/orders/sig-2")
    await page.click("[data-action=cancel]")
    await expect(page.locator(".order-head")).to_have_attribute("data-order-state", "cancelled")
    await expect(page.locator("[data-skipped]")).to_contain_text("done")
    await page.click("[data-action=reprocess-start]")
    await expect(page.locator(".order-head")).to_have_attribute("data-order-state", "waiting")
    await expect(page.locator(".signal-form")).to_be_visible()


async def test_an_unknown_order_is_a_404_page(page: Page) -> None:
    answer = await page.goto("/orders/no-such-order")
    assert answer is not None and answer.status == 404
    await expect(page.locator(".empty-state")).to_contain_text("No order with id 'no-such-order'")
    await expect(page.locator(".empty-state a")).to_have_attribute("href", "/orders")
