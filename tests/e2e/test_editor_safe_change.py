"""Changing a blueprint that real orders run on, safely, in the editor: the coverage overlay
(which edges orders took, and which none did), the replay tray (past orders through the
edited draft: which steps now decide otherwise), and publishing with orders in flight (who
stays on the old version, and moving the resting ones to the new one)."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import chain, create_orders, publish, signal_step, sleep_step, wait_for
from tests.e2e.helpers import fill_code, open_editor, select_node, wait_validated

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("E2E_SHOTS")  # a folder: the views screenshotted there, to look at


async def shot(page: Page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/{name}.png")


def branching(blueprint_id: str, expression: str) -> dict[str, Any]:
    """start → check → big (true) | small (false)."""
    return {
        "id": blueprint_id, "name": blueprint_id,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "check", "type": "condition", "label": "Big order?", "expression": expression},
            {"id": "big", "type": "end", "status": "completed", "result": "'big'"},
            {"id": "small", "type": "end", "status": "completed", "result": "'small'"},
        ],
        "edges": [{"source": "start", "target": "check"},
                  {"source": "check", "target": "big", "kind": "true"},
                  {"source": "check", "target": "small", "kind": "false"}],
        "layout": {"start": {"x": 0, "y": 0}, "check": {"x": 300, "y": 0},
                   "big": {"x": 620, "y": -110}, "small": {"x": 620, "y": 110}},
    }


async def run_orders(http: httpx.AsyncClient, blueprint: str, amounts: list[int]) -> None:
    ids = [f"{blueprint}-{i}" for i in range(len(amounts))]
    for order_id, amount in zip(ids, amounts, strict=True):
        await create_orders(http, blueprint, [order_id], {"amount": amount})
    await wait_for(http, ids, {"completed"})


EDGE_LOOKS = """() => window.waybillEditor.graph.getEdges().map((edge) => JSON.stringify(
    [edge.getSourceCellId(), edge.getTargetCellId(), edge.getAttrs(), edge.getLabels()]))"""
EDGE_LABEL = """([source, target]) => {
    const e = window.waybillEditor; const edge = e.findEdge(source, target);
    const view = e.graph.findViewByCell(edge);
    return [...view.container.querySelectorAll('.x6-edge-label text')]
        .map((t) => t.textContent.replace(/\u00a0/g, ' ')); }"""


async def test_coverage_shows_the_taken_edges_and_lists_the_one_never_taken(
        page: Page, http: httpx.AsyncClient) -> None:
    doc = branching("e2e-cov", "input.amount > 100")
    await publish(http, doc)
    await run_orders(http, "e2e-cov", [150, 200, 300])  # all of them big: `false` never taken
    await publish(http, doc | {"name": "Coverage, renamed"})  # v2, which no order ran on
    await open_editor(page, "e2e-cov")
    before = await page.evaluate(EDGE_LOOKS)

    toggle = page.locator("[data-action=coverage]")
    await toggle.click()
    legend = page.locator("#coverage-legend")
    version = legend.locator("select[name=version]")
    await expect(legend).to_have_attribute("data-version", "2")  # the latest published
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(version).to_have_value("2")
    await expect(legend.locator("[data-coverage-orders]")).to_have_text("No orders have run on version 2 yet")
    assert await page.evaluate(EDGE_LABEL, ["start", "check"]) == ["0"]

    await version.select_option("1")
    await expect(legend).to_have_attribute("data-version", "1")
    await expect(legend.locator("[data-coverage-orders]")).to_have_text(
        "3 orders on version 1: 3 real, 0 test")
    assert await page.evaluate(EDGE_LABEL, ["start", "check"]) == ["3"]
    assert await page.evaluate(EDGE_LABEL, ["check", "big"]) == ["true · 3"]
    assert await page.evaluate(EDGE_LABEL, ["check", "small"]) == ["false · 0"]
    lines = await page.evaluate("""() => ['big', 'small'].map((id) => window.waybillEditor
        .findEdge('check', id).getAttrs().line)""")
    assert lines[0]["strokeWidth"] == 6 and lines[0]["strokeDasharray"] is None
    assert lines[1]["strokeWidth"] == 1.5 and lines[1]["strokeDasharray"]
    never = legend.locator("[data-never-taken] .cov-never")
    await expect(never).to_have_count(1)
    await expect(never).to_contain_text("Big order?")
    await expect(never).to_contain_text("small")
    await expect(never.locator(".cov-kind")).to_have_text("false")
    await expect(page.locator("#canvas .x6-cell-tool-button")).to_have_count(4)  # a count a step
    counts = await page.evaluate("""() => window.waybillEditor.graph.getNodes().map((node) =>
        [node.getData().node.id, node.getTools()?.items?.[0]?.args?.markup?.[2]?.textContent])""")
    assert dict(counts) == {"start": "3", "check": "3", "big": "3", "small": "0"}
    await shot(page, "coverage-overlay")

    await never.click()  # the never-taken edge, selected on the canvas (and drawn so)
    await expect(page.locator("#panel form[data-panel=edge]")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#panel form[data-panel=blueprint]")).to_be_visible()
    assert await page.evaluate(EDGE_LABEL, ["check", "small"]) == ["false · 0"]  # still on
    # an edge deleted while drawn on, the overlay off, the delete undone: the edge as it was
    await page.evaluate("""() => { const e = window.waybillEditor;
        e.graph.removeCell(e.findEdge('check', 'small')); }""")
    await toggle.click()
    await expect(legend).to_be_hidden()
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await page.evaluate("window.waybillEditor.undo()")
    await wait_validated(page)
    assert sorted(await page.evaluate(EDGE_LOOKS)) == sorted(before)  # exactly as they were
    assert not await page.evaluate("window.waybillEditor.graph.getNodes().some((n) => n.hasTools())")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")  # no edit

    # on again, and another version viewed: that version's orders are counted on its drawing
    await toggle.click()
    await version.select_option("2")
    await expect(legend).to_have_attribute("data-version", "2")
    await page.click("[data-action=versions]")
    await page.click('#versions-menu [data-version="1"]')
    await expect(page.locator("#version-banner")).to_be_visible()
    await expect(legend).to_have_attribute("data-version", "1")
    await expect(version).to_have_value("1")
    assert await page.evaluate(EDGE_LABEL, ["check", "big"]) == ["true · 3"]
    await page.click("[data-action=back-to-draft]")
    await expect(legend).to_have_attribute("data-version", "2")


async def test_replay_names_the_changed_step_on_the_canvas(page: Page, http: httpx.AsyncClient) -> None:
    await publish(http, branching("e2e-replay", "input.amount > 100"))
    await run_orders(http, "e2e-replay", [50, 150, 200])
    await open_editor(page, "e2e-replay")
    await select_node(page, "check")
    await fill_code(page, "#panel [name=expression]", "input.amount > 175")  # 150 is small now
    await wait_validated(page)
    await expect(page.locator("#save-status")).to_have_text("Unsaved changes")

    await page.click("[data-action=replay]")
    tray = page.locator("#replay-tray")
    await expect(tray.locator(".pane-title")).to_have_text("Replay past orders")
    await expect(tray.locator("input[name=limit]")).to_have_value("100")
    await expect(tray.locator("select[name=version] option")).to_have_count(2)  # draft, v1
    await expect(tray.locator("select[name=version]")).to_have_value("draft")
    await tray.locator("input[name=limit]").fill("50")
    await tray.locator("button[type=submit]").click()
    await expect(tray).to_have_attribute("data-state", "done", timeout=30_000)
    await expect(page.locator("#save-status")).to_have_text("All changes saved")  # saved first
    summary = tray.locator("[data-replay-summary]")
    await expect(summary.locator("[data-count=same]")).to_have_text("2 same")
    await expect(summary.locator("[data-count=changed]")).to_have_text("1 changed")
    await expect(summary.locator("[data-count=unrecorded]")).to_have_text("0 unrecorded")
    await expect(summary).to_contain_text("3 orders on the draft in")
    change = tray.locator("[data-replay-changes] .rp-change-btn")
    await expect(change).to_have_count(1)
    await expect(change.locator(".rp-order")).to_have_text("e2e-replay-1")
    await expect(change).to_contain_text("at Big order? check: was true, now false")
    check = page.locator('#canvas [data-cell-id="n:check"]')
    await expect(check).to_have_class(re.compile(r"\bwb-replay-changed\b"))
    await expect(check.locator(".wb-badge")).to_be_visible()
    await expect(check.locator(".wb-badge text")).to_have_text("1")
    await expect(page.locator('#canvas [data-cell-id="n:big"]')).not_to_have_class(
        re.compile(r"wb-replay"))
    link = tray.locator("[data-replay-link]")
    await expect(link).to_have_text("Open the replay page")
    await expect(link).to_have_attribute("href", "/blueprints/e2e-replay/replay?version=draft&limit=50")
    assert (await http.get("/blueprints/e2e-replay/replay?version=draft&limit=50")).status_code == 200
    await page.evaluate("window.waybillEditor.graph.cleanSelection()")
    await shot(page, "replay-tray")

    await change.click()  # the order's first differing step, selected
    await expect(page.locator("#panel form[data-panel=node] input[name=id]")).to_have_value("check")

    await tray.locator("[data-close]").click()
    await expect(tray).to_be_hidden()
    await expect(check).not_to_have_class(re.compile(r"wb-replay"))
    await expect(check.locator(".wb-badge")).to_be_hidden()


async def test_replay_on_a_published_version_and_its_refusals(page: Page, http: httpx.AsyncClient) -> None:
    await publish(http, branching("e2e-replay-v", "input.amount > 100"))
    await run_orders(http, "e2e-replay-v", [50])
    await open_editor(page, "e2e-replay-v")
    await page.click("[data-action=replay]")
    tray = page.locator("#replay-tray")
    await tray.locator("select[name=version]").select_option("1")
    await tray.locator("button[type=submit]").click()
    await expect(tray).to_have_attribute("data-state", "done", timeout=30_000)
    await expect(tray.locator("[data-count=same]")).to_have_text("1 same")
    await expect(tray.locator("[data-replay-changes]")).to_be_hidden()
    await expect(tray.locator("[data-replay-link]")).to_have_attribute(
        "href", "/blueprints/e2e-replay-v/replay?version=1&limit=100")
    await tray.locator("input[name=limit]").fill("900")  # over the bound: said, not sent
    await tray.locator("button[type=submit]").click()
    await expect(tray.locator("[data-replay-error]")).to_have_text("Replay between 1 and 500 orders.")
    await expect(tray.locator("input[name=limit]")).to_have_attribute("aria-invalid", "true")
    await tray.locator("input[name=limit]").fill("20")
    await tray.locator("select[name=version]").select_option("draft")
    await expect(tray.locator("[data-replay-link]")).to_have_attribute(  # follows the choice
        "href", "/blueprints/e2e-replay-v/replay?version=draft&limit=20")

    # no worker to take it: said in the tray
    await page.route("**/api/blueprints/*/replay", lambda route: route.fulfill(status=503, json={
        "type": "unavailable", "detail": "No worker answered the replay within 30 s.", "errors": []}))
    await tray.locator("button[type=submit]").click()
    await expect(tray).to_have_attribute("data-state", "error")
    await expect(tray.locator("[data-replay-error]")).to_have_text(
        "No worker took the replay: No worker answered the replay within 30 s.")
    await expect(tray.locator("input[name=limit]")).not_to_have_attribute("aria-invalid", "true")
    await page.keyboard.press("Escape")
    await expect(tray).to_be_hidden()
    await expect(page.locator("[data-action=replay]")).to_have_attribute("aria-expanded", "false")


async def endpoints_there(http: httpx.AsyncClient, blueprint: str) -> bool:
    answer = await http.get(f"/api/blueprints/{blueprint}/in-flight")
    probe = await http.post(f"/api/blueprints/{blueprint}/migrate",
                            json={"from_version": 1, "to_version": 1, "dry_run": True})
    return answer.status_code == 200 and probe.status_code != 404


def resting(blueprint_id: str) -> dict[str, Any]:
    """start → hold? → wait (a sleep of an hour) | approval (a signal) → done."""
    return {
        "id": blueprint_id, "name": blueprint_id,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "hold", "type": "condition", "expression": "input.hold"},
            {**sleep_step("1h"), "label": "Wait an hour"},
            {**signal_step("approved"), "save": {}},
            {"id": "done", "type": "end", "status": "completed", "result": "'done'"},
        ],
        "edges": [{"source": "start", "target": "hold"},
                  {"source": "hold", "target": "wait", "kind": "true"},
                  {"source": "hold", "target": "approval", "kind": "false"},
                  {"source": "wait", "target": "done"}, {"source": "approval", "target": "done"}],
        "layout": {"start": {"x": 0, "y": 0}, "hold": {"x": 260, "y": 0}, "wait": {"x": 520, "y": -90},
                   "approval": {"x": 520, "y": 90}, "done": {"x": 780, "y": 0}},
    }


async def test_publishing_with_resting_orders_offers_to_move_them(page: Page,
                                                                  http: httpx.AsyncClient) -> None:
    doc = resting("e2e-inflight")
    await publish(http, doc)
    if not await endpoints_there(http, "e2e-inflight"):
        pytest.skip("GET /in-flight and POST /migrate are not on this server yet")
    await create_orders(http, "e2e-inflight", ["e2e-inflight-1"], {"hold": True})
    await create_orders(http, "e2e-inflight", ["e2e-inflight-2"], {"hold": False})
    await wait_for(http, ["e2e-inflight-1"], {"sleeping"})
    await wait_for(http, ["e2e-inflight-2"], {"waiting"})
    # the draft: the sleep renamed `pause`, the signal wait turned into a sleep (its waiting
    # order has no step of its kind to go on at)
    draft = resting("e2e-inflight")
    draft["nodes"][2] = {**draft["nodes"][2], "id": "pause"}
    draft["nodes"][3] = {"id": "approval", "type": "sleep", "duration": "1m"}
    for edge in draft["edges"]:
        edge.update({end: "pause" for end in ("source", "target") if edge[end] == "wait"})
    draft["layout"]["pause"] = draft["layout"].pop("wait")
    assert (await http.put("/api/blueprints/e2e-inflight", json=draft)).status_code == 200
    await open_editor(page, "e2e-inflight")
    await select_node(page, "done")
    await fill_code(page, "#panel [name=result]", "'finished'")  # unsaved: saved by Publish
    await wait_validated(page)

    await page.click("[data-action=publish]")
    dialog = page.locator("#publish-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#publish-title")).to_have_text("Publish version 2?")
    rows = dialog.locator("[data-inflight-rows] tr")
    await expect(rows).to_have_count(2)
    cells = [[text.strip() for text in await row.locator("td").all_inner_texts()]
             for row in await rows.all()]
    assert cells == [["v1", "approval", "waiting", "1", "changed"],
                     ["v1", "wait", "sleeping", "1", "missing"]], cells
    await expect(dialog.locator("[data-inflight-note]")).to_contain_text(
        "They stay on the version they started on unless you move them")
    await expect(dialog.locator("[data-publish-confirm]")).to_be_focused()
    await shot(page, "publish-dialog")

    await dialog.locator("[data-publish-confirm]").click()
    await expect(page.locator("#version-badge")).to_have_text("v2")
    await expect(dialog.locator("#publish-title")).to_have_text("Version 2 is published")
    offer = dialog.locator(".move-offer[data-from='1']")
    move = offer.locator("[data-move-from='1']")
    await expect(move).to_have_text("Move 0 orders of v1 to v2")  # the one step still there
    await expect(move).to_be_disabled()                         # changed kind; the other is gone
    waiting = offer.locator("tr[data-node=approval] select")
    assert await waiting.locator("option").all_inner_texts() == ["stay on v1"]
    sleeping = offer.locator("tr[data-node=wait] select")
    assert await sleeping.locator("option").all_inner_texts() == [
        "stay on v1", "Wait an hour (pause)", "approval"]
    await sleeping.select_option("pause")
    await expect(move).to_have_text("Move 1 order of v1 to v2")
    await shot(page, "publish-map")
    await move.click()
    result = offer.locator(".move-result")
    await expect(result.locator("strong")).to_have_text("v1 → v2: moved 1, refused 0")
    await shot(page, "publish-moved")
    moved = (await http.get("/api/orders/e2e-inflight-1")).json()
    assert (moved["version"], moved["state"], moved["current_node"]) == (2, "sleeping", "pause")
    stayed = (await http.get("/api/orders/e2e-inflight-2")).json()
    assert (stayed["version"], stayed["state"]) == (1, "waiting")
    await dialog.get_by_role("button", name="Done").click()
    await expect(dialog).to_be_hidden()


async def test_publishing_without_orders_in_flight_asks_nothing(page: Page, http: httpx.AsyncClient) -> None:
    doc = chain("e2e-inflight-none")
    await publish(http, doc)
    renamed = await http.put("/api/blueprints/e2e-inflight-none", json=doc | {"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    await open_editor(page, "e2e-inflight-none")
    await page.click("[data-action=publish]")  # nothing in flight: published at once
    await expect(page.locator("#version-badge")).to_have_text("v2")
    await expect(page.locator("#publish-dialog")).to_be_hidden()

    # a server without the in-flight count: published as before
    await page.route("**/api/blueprints/*/in-flight", lambda route: route.fulfill(status=404, json={
        "type": "not_found", "detail": "Not Found", "errors": []}))
    await select_node(page, "done")
    await fill_code(page, "#panel [name=result]", "'finished'")
    await wait_validated(page)
    await page.click("[data-action=publish]")
    await expect(page.locator("#version-badge")).to_have_text("v3")
    await expect(page.locator("#publish-dialog")).to_be_hidden()
