"""The editor: palette, connection rules, config panel, validation pins, undo/redo, save,
publish and versions, auto-layout. Each test works on a blueprint of its own."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Page, expect

from tests.e2e.helpers import (
    connect,
    create_blueprint,
    doc,
    drag,
    edges,
    fill_code,
    get_blueprint,
    linear_doc,
    node_ids,
    open_editor,
    select_node,
    wait_validated,
)

pytestmark = pytest.mark.browser


async def test_opens_the_example_with_every_step(page: Page) -> None:
    await open_editor(page, "returns-approved")
    ids = await node_ids(page)
    assert {"start", "is_us", "us_label", "ca_label", "wait_for_item"} <= set(ids)
    await expect(page.locator("#problem-count")).to_have_text("Valid")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")


async def test_drag_from_palette_connect_and_undo(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-palette"))
    await open_editor(page, "e2e-palette")
    canvas = await page.locator("#canvas").bounding_box()
    item = await page.locator('.palette-item[data-node-type="sleep"]').bounding_box()
    assert canvas and item
    await drag(page, {"x": item["x"] + 30, "y": item["y"] + 20},
               {"x": canvas["x"] + canvas["width"] / 2, "y": canvas["y"] + canvas["height"] - 120})
    assert "sleep_1" in await node_ids(page)

    await connect(page, "call", "sleep_1", group="failed")
    await connect(page, "sleep_1", "done")
    assert ("call", "sleep_1", "failed") in await edges(page)
    assert ("sleep_1", "done", "next") in await edges(page)
    await expect(page.locator("#save-status")).to_have_text("Unsaved changes")

    await page.keyboard.press("Control+z")
    assert ("sleep_1", "done", "next") not in await edges(page)
    await page.keyboard.press("Control+Shift+z")
    assert ("sleep_1", "done", "next") in await edges(page)

    await page.click("[data-action=save]")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")
    saved = await get_blueprint(server, "e2e-palette")
    assert {"source": "call", "target": "sleep_1", "kind": "failed"} in saved["draft"]["edges"]
    assert "sleep_1" in saved["draft"]["layout"]


async def test_steps_without_such_ports_cannot_be_connected(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-rules"))
    await open_editor(page, "e2e-rules")
    # nothing comes after an end, nothing leads into the start: they have no such ports
    assert await page.locator('#canvas [data-cell-id="n:done"] [port="out"]').count() == 0
    assert await page.locator('#canvas [data-cell-id="n:start"] [port="in"]').count() == 0


async def test_config_panel_edits_the_node_and_escapes_text(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-panel"))
    await open_editor(page, "e2e-panel")
    await select_node(page, "call")
    label = '<img src=x onerror="window.pwned=1">Create return'
    await page.fill("#panel input[name=label]", label)
    await page.keyboard.press("Tab")
    # the label is applied (and the panel settled) before the next field is edited
    await page.wait_for_function(
        "(label) => window.waybillEditor.findNode('call').getData().node.label === label", arg=label)
    await page.locator("#panel .pairs[data-pairs=save] .add-pair").click()
    # the new row arrives (from the server) with its key focused; until then `.last` is the
    # existing return_id row
    await expect(page.locator("#panel .pairs[data-pairs=save] .pair-key")).to_have_count(2)
    await expect(page.locator("#panel .pairs[data-pairs=save] .pair-key").last).to_be_focused()
    await page.keyboard.type("status")
    await fill_code(page, page.locator("#panel .pairs[data-pairs=save] .pair-value").last, "response.status")
    await page.wait_for_function(
        "window.waybillEditor.findNode('call').getData().node.save.status === 'response.status'")
    node = next(n for n in (await doc(page))["nodes"] if n["id"] == "call")
    assert node["label"] == label
    assert await page.evaluate("window.pwned") is None
    assert await page.locator("#canvas img").count() == 0
    await expect(page.locator('[data-cell-id="n:call"] text').nth(1)).to_contain_text("<img")

    await page.fill("#panel input[name=id]", "create_return")
    await page.wait_for_function("window.waybillEditor.findNode('create_return') !== null")
    assert ("start", "create_return", "next") in await edges(page)
    await page.keyboard.press("Control+s")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")
    saved = (await get_blueprint(server, "e2e-panel"))["draft"]
    assert {"source": "start", "target": "create_return", "kind": "next"} in saved["edges"]


async def test_validation_problems_are_pinned_on_nodes(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-problems"))
    await open_editor(page, "e2e-problems")
    await select_node(page, "call")
    first_arg = page.locator("#panel .pairs[data-pairs=args] .pair-value").first
    await fill_code(page, first_arg, "input.ticket_id ==")
    await expect(page.locator("#panel .pair .field-msg").first).not_to_be_empty()
    await wait_validated(page)
    await expect(page.locator("#problem-count")).to_have_text("1 problem")
    badge = page.locator('#canvas [data-cell-id="n:call"] .wb-badge')
    await expect(badge).to_be_visible()
    await expect(page.locator("#panel [data-problems] li")).to_have_count(1)

    await page.keyboard.press("Escape")
    await page.locator("#canvas").click(position={"x": 20, "y": 20})
    await page.locator("#problem-list .problem").first.click()
    await expect(page.locator("#panel input[name=id]")).to_have_value("call")

    await page.click("[data-action=publish]")
    await expect(page.locator(".toast-error")).to_contain_text("before publishing")


async def test_publish_view_version_and_back(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-versions"))
    await open_editor(page, "e2e-versions")
    await page.click("[data-action=publish]")
    await expect(page.locator("#version-badge")).to_have_text("v1")
    await select_node(page, "call")
    await page.fill("#panel input[name=label]", "Changed after v1")
    await page.wait_for_function("window.waybillEditor.findNode('call').getData().node.label")
    await page.click("[data-action=publish]")
    await expect(page.locator("#version-badge")).to_have_text("v2")

    await page.click("[data-action=versions]")
    await page.click("#versions-menu .menu-item[data-version='1']")
    await expect(page.locator("#version-banner")).to_be_visible()
    await expect(page.locator("[data-action=save]")).to_be_disabled()
    label = "window.waybillEditor.findNode('call').getData().node.label"
    assert await page.evaluate(label) is None
    await page.click("[data-action=back-to-draft]")
    await expect(page.locator("#version-banner")).to_be_hidden()
    assert await page.evaluate(label) == "Changed after v1"


async def test_auto_layout_changes_only_the_layout(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-layout"))
    await open_editor(page, "e2e-layout")
    before = await doc(page)
    await page.click("[data-action=layout]")
    after = await doc(page)
    assert after["layout"] != before["layout"]
    assert (after["nodes"], after["edges"]) == (before["nodes"], before["edges"])
    await page.keyboard.press("Control+z")
    assert (await doc(page))["layout"] == before["layout"]


async def test_delete_key_removes_a_step_and_undo_restores_it(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-delete"))
    await open_editor(page, "e2e-delete")
    await select_node(page, "call")
    await page.keyboard.press("Delete")
    assert "call" not in await node_ids(page)
    assert await edges(page) == []
    await page.keyboard.press("Control+z")
    assert "call" in await node_ids(page)
    assert len(await edges(page)) == 2


async def test_copy_paste_gives_fresh_ids_and_keeps_inner_edges(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-clipboard"))
    await open_editor(page, "e2e-clipboard")
    await select_node(page, "call")
    await page.keyboard.press("Control+a")  # the start is never copied: there is only one
    await page.keyboard.press("Control+c")
    await page.keyboard.press("Control+v")
    assert sorted(await node_ids(page)) == ["call", "call_1", "done", "end_1", "start"]
    assert ("call_1", "end_1", "next") in await edges(page)
    await page.keyboard.press("Control+z")
    assert sorted(await node_ids(page)) == ["call", "done", "start"]


async def test_a_broken_input_schema_is_refused_not_dropped(page: Page, server: str) -> None:
    """Save with an input schema that is not valid JSON (checked in the page) or not a JSON
    Schema (refused by the API with a 422) shows the error at the field and stores nothing;
    fixed, it is saved and there after a reload."""
    original = {"type": "object", "required": ["order_id"]}
    await create_blueprint(server, linear_doc("e2e-schema") | {"input_schema": original})
    await open_editor(page, "e2e-schema")
    field = page.locator("#panel textarea[name=input_schema]")
    message = page.locator("#panel textarea[name=input_schema] + .field-msg")
    before = (await get_blueprint(server, "e2e-schema"))["draft"]

    await field.fill('{"type": "object", "required": ["email"')  # Save at once: no debounce wait
    await page.click("[data-action=save]")
    await expect(message).to_contain_text("Not valid JSON")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#save-status")).to_have_text("Not saved")
    await expect(page.locator(".toast-error")).to_contain_text("input schema")
    await expect(page.locator(".toast-ok")).to_have_count(0)
    await page.screenshot(path="/tmp/editor-input-schema-invalid-json.png")
    assert (await get_blueprint(server, "e2e-schema"))["draft"] == before

    await select_node(page, "call")  # the panel shows a step, then the blueprint again:
    await page.keyboard.press("Escape")  # the text typed and its error are still there
    await expect(field).to_have_value('{"type": "object", "required": ["email"')
    await expect(message).to_contain_text("Not valid JSON")
    await page.keyboard.press("Control+s")
    await expect(page.locator("#save-status")).to_have_text("Not saved")

    await field.fill('{"type": "object", "required": "email"}')  # JSON, but not a JSON Schema
    await page.click("[data-action=save]")
    await expect(message).to_contain_text("not a valid JSON Schema at /required")
    await expect(page.locator("#save-status")).to_have_text("Not saved")
    await page.screenshot(path="/tmp/editor-input-schema-not-a-schema.png")
    assert (await get_blueprint(server, "e2e-schema"))["draft"] == before
    await wait_validated(page)  # the live validation says so too
    await expect(page.locator("#problem-count")).to_have_text("1 problem")
    await expect(page.locator("#panel [data-problems] li")).to_contain_text("not a valid JSON Schema")

    # (its properties name every input the flow reads: an undeclared one would be a problem)
    fixed = {"type": "object", "required": ["email"],
             "properties": {"email": {"type": "string", "format": "email"},
                            "ticket_id": {"type": "string"}, "order_id": {"type": "string"}}}
    await field.fill(json.dumps(fixed))
    await page.click("[data-action=save]")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")
    await expect(message).to_be_empty()
    await expect(field).to_have_attribute("aria-invalid", "false")
    assert (await get_blueprint(server, "e2e-schema"))["draft"]["input_schema"] == fixed
    await wait_validated(page)
    await expect(page.locator("#problem-count")).to_have_text("Valid")

    await page.reload()
    await page.wait_for_selector("#editor[data-ready=true]")
    assert (await doc(page))["input_schema"] == fixed
    await expect(field).to_contain_text('"format": "email"')
