"""The order page's graph: the order's blueprint version drawn read-only beside its timeline,
each step coloured by its latest run, the path taken highlighted, the rest dimmed; it follows
the order live, and clicking a step opens its run in the timeline."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import chain, create_orders, publish, signal_step, wait_for

pytestmark = pytest.mark.browser
SKIPPED = re.compile(r"\bwb-skipped\b")
AHEAD = re.compile(r"\bwb-ahead\b")
US_PATH = ["start", "generate_response", "is_us", "us_label", "create_return", "record_workflow",
           "wants_cancel", "cancel_subscription", "wait_for_item", "instant_refund",
           "update_match", "refund_order", "comment_ticket", "refunded"]


def step(page: Page, node_id: str):  # noqa: ANN201
    return page.locator(f'#order-graph [data-cell-id="n:{node_id}"]')


async def click_step(page: Page, node_id: str) -> None:
    """Bring the step into the graph's view and click it."""
    point = await page.evaluate(
        """(id) => { const view = window.waybillOrderGraph; const cell = view.node(id);
            view.graph.centerCell(cell);
            const p = view.graph.localToClient(cell.getBBox().getCenter()); return {x: p.x, y: p.y}; }""",
        node_id)
    await page.mouse.click(point["x"], point["y"])


async def test_a_completed_returns_order_shows_its_path(page: Page, http: httpx.AsyncClient) -> None:
    sample = (await http.get("/api/blueprints/returns-approved")).json()["draft"]["sample_input"]
    await create_orders(http, "returns-approved", ["graph-ret-1"], {**sample, "country": "US"})
    await wait_for(http, ["graph-ret-1"], {"sleeping"})  # the 3-day wait for the item
    assert (await http.post("/api/orders/graph-ret-1/wake")).status_code == 200
    await wait_for(http, ["graph-ret-1"], {"completed"})

    await page.goto("/orders/graph-ret-1")
    await page.wait_for_selector("#order-graph[data-ready=true]")
    for node_id in US_PATH:
        await expect(step(page, node_id)).to_have_attribute("data-status", "completed")
        await expect(step(page, node_id)).not_to_have_class(SKIPPED)
    for node_id in ("ca_label", "returned"):  # the branches not taken
        await expect(step(page, node_id)).to_have_attribute("data-status", "none")
        await expect(step(page, node_id)).to_have_class(SKIPPED)
    taken = page.locator('#order-graph .x6-edge[data-taken="true"]')
    await expect(taken).to_have_count(len(US_PATH) - 1)
    await expect(page.locator(".graph-legend")).to_contain_text("not taken")

    await click_step(page, "create_return")
    details = page.locator("#timeline .tl-item[data-node=create_return] details")
    await expect(details).to_have_attribute("open", "")
    await expect(details.locator(".json-block").first).to_contain_text("Idempotency-Key")


async def test_the_graph_follows_a_waiting_order_live(page: Page, http: httpx.AsyncClient) -> None:
    await publish(http, chain("e2e-graph-live", signal_step("approved")))
    await create_orders(http, "e2e-graph-live", ["graph-live-1"])
    await wait_for(http, ["graph-live-1"], {"waiting"})

    await page.goto("/orders/graph-live-1")
    await page.wait_for_selector("#order-graph[data-ready=true]")
    await expect(step(page, "approval")).to_have_attribute("data-status", "waiting")
    await expect(step(page, "done")).to_have_class(AHEAD)  # not reached yet, not skipped
    await expect(step(page, "done")).not_to_have_class(SKIPPED)

    answer = await http.post("/api/orders/graph-live-1/signals/approved", json={"by": "e2e"})
    assert answer.status_code in (200, 202), answer.text
    await expect(step(page, "approval")).to_have_attribute("data-status", "completed")
    await expect(step(page, "done")).to_have_attribute("data-status", "completed")
    await expect(page.locator('#order-graph .x6-edge[data-taken="true"]')).to_have_count(2)
