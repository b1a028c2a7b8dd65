"""A flow built from an empty blueprint the way a new user builds it, counting what they do:
start → API call (two values kept by clicking its response) → condition → two ends, then
publish, in at most 15 actions (a click, a choice in a list, or typing into one field)."""

from __future__ import annotations

from collections.abc import Awaitable

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import put_api_call
from tests.e2e.helpers import code_field, create_blueprint, edges, get_blueprint, open_editor, plus

pytestmark = pytest.mark.browser
LABEL_CALL = {"id": "e2e-build-label", "name": "Ship label", "method": "POST",
              "url": "{{ variables.demo_url }}/labels/us",
              "mock": {"status": 201, "body": {"id": "lbl_1", "carrier": "USPS",
                                               "tracking_number": "9400"}}}


class Actions:
    """Each awaited action counts once."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, action: Awaitable[object]) -> None:
        self.count += 1
        await action


async def test_a_flow_is_built_and_published_in_at_most_15_actions(page: Page, server: str,
                                                                    http: httpx.AsyncClient) -> None:
    await put_api_call(http, LABEL_CALL)
    await create_blueprint(server, {"id": "e2e-build", "name": "Built by hand",
                                    "nodes": [{"id": "start", "type": "start"}], "edges": [],
                                    "layout": {"start": {"x": 0, "y": 0}}})
    await open_editor(page, "e2e-build")
    act = Actions()
    picker = page.locator("#step-picker")
    panel = page.locator("#panel")

    await act((await plus(page, "start", "out")).click())
    await act(picker.locator('[data-node-type="api_call"]').click())
    await act(panel.locator("select[name=api_call]").select_option("e2e-build-label"))
    tree = panel.locator("[data-response-tree]")
    await act(tree.locator('[data-keep="response.body.carrier"]').click())
    await expect(panel.locator(".pair-key").first).to_have_value("carrier")
    await act(tree.locator('[data-keep="response.body.tracking_number"]').click())
    await expect(panel.locator(".pair-key")).to_have_count(2)

    await act((await plus(page, "call_1", "out")).click())
    await act(picker.locator('[data-node-type="condition"]').click())
    condition = code_field(page, panel.locator("[name=expression]"))
    await act(condition.locator(".cm-content").click())
    await act(page.keyboard.type("vars.carrier == 'USPS'"))
    await page.keyboard.press("Escape")  # the completion list the typing opened, if any

    await act((await plus(page, "check_1", "true")).click())
    await act(picker.locator('[data-node-type="end"]').click())
    await act((await plus(page, "check_1", "false")).click())
    await act(picker.locator('[data-node-type="end"]').click())
    await act(page.locator("[data-action=publish]").click())

    await expect(page.locator("#version-badge")).to_have_text("v1")
    assert act.count <= 15, act.count
    assert set(await edges(page)) == {("start", "call_1", "next"), ("call_1", "check_1", "next"),
                                      ("check_1", "end_1", "true"), ("check_1", "end_2", "false")}
    stored = await get_blueprint(server, "e2e-build")
    assert stored["latest_version"] == 1
    call = next(node for node in stored["draft"]["nodes"] if node["id"] == "call_1")
    assert call["save"] == {"carrier": "response.body.carrier",
                            "tracking_number": "response.body.tracking_number"}
    check = next(node for node in stored["draft"]["nodes"] if node["id"] == "check_1")
    assert check["expression"] == "vars.carrier == 'USPS'"
