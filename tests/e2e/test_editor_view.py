"""Seeing the whole flow and using it from the keyboard: fit-to-view, the docked test-run
tray, folding panes, 1024×768, Tab / arrows / Enter / Delete / Escape."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from bench.editor import generated_blueprint
from tests.e2e.conftest import open_tab
from tests.e2e.helpers import create_blueprint, linear_doc, node_ids, open_editor

pytestmark = pytest.mark.browser

OUTSIDE = """() => {
  const e = window.waybillEditor;
  const box = document.getElementById("canvas").getBoundingClientRect();
  return e.graph.getNodes().filter((cell) => {
    const r = e.graph.findViewByCell(cell).container.getBoundingClientRect();
    return r.left < box.left || r.top < box.top || r.right > box.right || r.bottom > box.bottom;
  }).map((cell) => cell.getData().node.id);
}"""


async def outside(page: Page, only: list[str] | None = None) -> list[str]:
    found: list[str] = await page.evaluate(OUTSIDE)
    return [node for node in found if only is None or node in only]


async def test_the_editor_opens_fitted_and_fit_shows_every_step(page: Page, server: str) -> None:
    await open_editor(page, "returns-approved")
    assert await outside(page) == []
    await page.click("[data-action=zoom-in]")
    await page.click("[data-action=zoom-in]")
    await page.click("[data-action=zoom-in]")
    assert await outside(page) != []
    await page.click("[data-action=fit]")
    assert await outside(page) == []

    await create_blueprint(server, generated_blueprint(300) | {"id": "e2e-300"})
    await open_editor(page, "e2e-300")
    assert len(await node_ids(page)) == 300
    assert await outside(page) == []


async def test_with_the_tray_open_the_path_taken_is_in_view(page: Page) -> None:
    await open_editor(page, "returns-approved")
    await page.click("[data-action=test-run]")
    dialog = page.locator("#testrun-dialog")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")  # a dialog closes on Escape
    await expect(dialog).to_be_hidden()

    await page.click("[data-action=test-run]")
    await dialog.locator("[type=submit]").click()
    tray = page.locator("#run-tray")
    await expect(tray.locator("[data-run-state]")).to_have_text("completed", timeout=20_000)
    taken: list[str] = await tray.locator(".run-step").evaluate_all(
        "(rows) => rows.map((row) => row.dataset.node)")
    assert taken and "start" in taken
    assert await outside(page, taken) == []
    # docked, not over the canvas: the canvas ends where the tray begins
    canvas = await page.locator("#canvas").bounding_box()
    docked = await tray.bounding_box()
    assert canvas and docked and canvas["y"] + canvas["height"] <= docked["y"] + 1

    await page.locator("#canvas").click(position={"x": 4, "y": 4})
    await page.keyboard.press("Escape")  # and so does the tray
    await expect(tray).to_be_hidden()
    await page.wait_for_timeout(300)
    assert await outside(page) == []


async def test_panes_fold_and_the_canvas_takes_the_room(page: Page) -> None:
    await open_editor(page, "returns-approved")
    before = await page.locator("#canvas").bounding_box()
    await page.click("[data-action=toggle-palette]")
    await page.click("[data-action=toggle-side]")
    await expect(page.locator(".editor-body")).to_have_attribute("data-side", "folded")
    after = await page.locator("#canvas").bounding_box()
    assert before and after and after["width"] > before["width"] + 300
    await page.wait_for_timeout(300)
    assert await outside(page) == []
    # remembered: a reload opens folded
    await page.reload()
    await page.wait_for_selector("#editor[data-ready=true]")
    await expect(page.locator(".editor-body")).to_have_attribute("data-palette", "folded")
    await page.click("[data-action=toggle-side]")
    await expect(page.locator("#panel")).to_be_visible()


async def boxes(page: Page, selector: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await page.locator(selector).evaluate_all(
        """(items) => items.filter((item) => item.offsetParent !== null).map((item) => {
             const r = item.getBoundingClientRect();
             return {name: item.getAttribute("aria-label") || item.textContent.trim() || item.id,
                     left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })""")
    return found


async def test_at_1024_by_768_no_toolbar_control_overlaps_another(browser: Browser, server: str) -> None:
    async with open_tab(browser, server, viewport={"width": 1024, "height": 768}) as page:
        await open_editor(page, "returns-approved")
        controls = await boxes(page, ".editor-toolbar :is(a, button, .chip, .save-status, .bp-title)")
        assert len(controls) >= 12
        for i, a in enumerate(controls):
            assert a["left"] >= 0 and a["right"] <= 1024, a
            for b in controls[i + 1:]:
                apart = (a["right"] <= b["left"] or b["right"] <= a["left"]
                         or a["bottom"] <= b["top"] or b["bottom"] <= a["top"])
                assert apart, (a, b)
        canvas = await page.locator("#canvas").bounding_box()
        assert canvas and canvas["width"] >= 560  # the palette starts folded on a narrow screen
        assert await outside(page) == []


async def focused_step(page: Page) -> str | None:
    found: str | None = await page.evaluate("""() => {
        const view = document.activeElement?.closest?.(".x6-node");
        return view ? window.waybillEditor.graph.getCellById(view.dataset.cellId).getData().node.id : null;
    }""")
    return found


async def test_the_canvas_from_the_keyboard(page: Page, server: str) -> None:
    doc = linear_doc("e2e-keys")
    doc["nodes"][1:1] = [{"id": "check", "type": "condition", "expression": "input.n > 1"},
                         {"id": "other", "type": "end", "status": "failed"}]
    doc["edges"] = [{"source": "start", "target": "check"},
                    {"source": "check", "target": "call", "kind": "true"},
                    {"source": "check", "target": "other", "kind": "false"},
                    {"source": "call", "target": "done"}]
    doc["layout"] |= {"check": {"x": 150, "y": 0}, "other": {"x": 450, "y": 160}}
    await create_blueprint(server, doc)
    await open_editor(page, "e2e-keys")
    # Tab from the toolbar lands on the canvas's one stop, the start; then step after step
    await page.locator("[data-action=zoom-in]").focus()
    for _ in range(40):  # toolbar, palette, then the canvas
        await page.keyboard.press("Tab")
        if await focused_step(page):
            break
    assert await focused_step(page) == "start"
    order = ["start"]
    for _ in range(4):
        await page.keyboard.press("Tab")
        order.append(await focused_step(page) or "")
    assert order == ["start", "check", "call", "done", "other"]  # flow order: true branch first
    await page.keyboard.press("Shift+Tab")
    assert await focused_step(page) == "done"

    # arrows follow edges
    await page.keyboard.press("ArrowLeft")
    assert await focused_step(page) == "call"
    await page.keyboard.press("ArrowLeft")
    assert await focused_step(page) == "check"
    await page.keyboard.press("ArrowRight")
    assert await focused_step(page) == "call"
    await page.keyboard.press("ArrowDown")
    assert await focused_step(page) == "other"

    # Enter opens the step's settings, with the cursor in them
    await page.keyboard.press("Enter")
    await expect(page.locator("#panel input[name=label]")).to_be_focused()
    await expect(page.locator("#panel input[name=id]")).to_have_value("other")

    # Delete removes the focused step
    await page.evaluate("window.waybillEditor.focusStep(window.waybillEditor.findNode('other'))")
    await page.keyboard.press("Delete")
    assert "other" not in await node_ids(page)
