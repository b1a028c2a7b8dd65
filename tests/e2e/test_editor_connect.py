"""Connecting steps in one gesture: a port per branch, moving an edge by dragging from its
port, the "+" step picker, dropping a step onto an edge, and toasts only on a real refusal."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.helpers import (
    connect,
    create_blueprint,
    drag,
    edges,
    linear_doc,
    node_center,
    node_ids,
    open_editor,
    plus,
    port_point,
)

pytestmark = pytest.mark.browser


async def port_ids(page: Page, node_id: str) -> list[str]:
    found: list[str] = await page.evaluate(
        "(id) => window.waybillEditor.findNode(id).getPorts().map((p) => p.id)", node_id)
    return sorted(found)


async def test_a_condition_has_a_labelled_port_per_branch(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-ports"))
    await open_editor(page, "e2e-ports")
    await page.click('.palette-item[data-node-type="condition"]')
    await page.click('.palette-item[data-node-type="end"]')
    assert await port_ids(page, "check_1") == ["failed", "false", "in", "true"]
    await expect(await plus(page, "check_1", "true")).to_have_text("+ true")
    await expect(await plus(page, "check_1", "false")).to_have_text("+ false")

    await connect(page, "check_1", "done", group="false")
    await connect(page, "check_1", "end_1", group="true")
    assert ("check_1", "done", "false") in await edges(page)
    assert ("check_1", "end_1", "true") in await edges(page)
    # a port with its edge has no "+"; the free failed path still has one (shown on hover)
    await expect(await plus(page, "check_1", "true")).to_be_hidden()
    await expect(await plus(page, "check_1", "false")).to_be_hidden()
    await expect(await plus(page, "check_1", "failed")).to_be_hidden()
    center = await node_center(page, "check_1")
    await page.mouse.move(center["x"], center["y"])
    await expect(await plus(page, "check_1", "failed")).to_be_visible()
    # the two labels sit at their own ports, apart
    boxes = await page.locator('#canvas .x6-edge .x6-edge-label').evaluate_all(
        "(labels) => labels.map((label) => label.getBoundingClientRect().toJSON())")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert (a["right"] <= b["left"] or b["right"] <= a["left"]
                    or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]), (a, b)
    await expect(page.locator(".toast")).to_have_count(0)


async def test_dragging_from_a_taken_port_moves_its_edge_as_one_undo_step(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-move-edge"))
    await open_editor(page, "e2e-move-edge")
    await page.click('.palette-item[data-node-type="sleep"]')
    await connect(page, "start", "sleep_1")  # start already leads to call: the edge moves
    found = await edges(page)
    assert ("start", "sleep_1", "next") in found and ("start", "call", "next") not in found
    await expect(page.locator(".toast")).to_have_count(0)

    await page.keyboard.press("Control+z")
    found = await edges(page)
    assert ("start", "call", "next") in found and ("start", "sleep_1", "next") not in found


async def test_a_drop_on_a_step_connects_and_only_a_refused_drop_says_why(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-refusal"))
    await open_editor(page, "e2e-refusal")
    await page.click('.palette-item[data-node-type="condition"]')
    # let go on the blank canvas: no edge, and not a word (the drag asked every port)
    start = await port_point(page, "check_1", "true")
    await drag(page, start, {"x": start["x"] + 60, "y": start["y"] + 160})
    await page.wait_for_timeout(300)
    await expect(page.locator(".toast")).to_have_count(0)

    # dropped anywhere on a step, not only on its in-port: connected
    await drag(page, await port_point(page, "call", "out"), await node_center(page, "check_1"))
    assert ("call", "check_1", "next") in await edges(page)
    await drag(page, await port_point(page, "check_1", "false"), await node_center(page, "done"))
    assert ("check_1", "done", "false") in await edges(page)
    await expect(page.locator(".toast")).to_have_count(0)

    before = await edges(page)
    await connect(page, "check_1", "call", group="true")  # call → check_1 already: a loop
    await expect(page.locator(".toast").last).to_contain_text("would make a loop")
    assert await edges(page) == before


async def test_the_plus_of_a_free_port_adds_a_connected_step(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-plus"))
    await open_editor(page, "e2e-plus")
    await page.click('.palette-item[data-node-type="condition"]')
    await (await plus(page, "check_1", "true")).click()
    picker = page.locator("#step-picker")
    await expect(picker).to_be_visible()
    await expect(picker.locator("input")).to_be_focused()
    assert await picker.locator("[data-node-type=start]").count() == 0  # nothing leads into it
    await page.keyboard.press("Escape")
    await expect(picker).to_be_hidden()
    assert await node_ids(page) == ["start", "call", "done", "check_1"]

    await (await plus(page, "check_1", "true")).click()
    await page.keyboard.type("end")
    await page.keyboard.press("Enter")
    await expect(picker).to_be_hidden()
    assert ("check_1", "end_1", "true") in await edges(page)
    # the new step is selected, its settings open, and it sits right of the condition
    await page.wait_for_selector('#panel form[data-panel=node] input[name=id][value="end_1"]')
    end, check = await node_center(page, "end_1"), await node_center(page, "check_1")
    assert end["x"] > check["x"]

    await (await plus(page, "check_1", "false")).click()
    await picker.locator('[data-node-type="api_call"]').click()
    assert ("check_1", "call_1", "false") in await edges(page)
    # the step and its edge came as one undo step
    await page.keyboard.press("Escape")
    await page.locator("#canvas").click(position={"x": 5, "y": 5})
    await page.keyboard.press("Control+z")
    assert "call_1" not in await node_ids(page)
    assert ("check_1", "end_1", "true") in await edges(page)


async def test_a_step_dropped_onto_an_edge_is_inserted_into_it(page: Page, server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-insert"))
    await open_editor(page, "e2e-insert")
    call, done = await node_center(page, "call"), await node_center(page, "done")
    middle = {"x": (call["x"] + done["x"]) / 2, "y": call["y"]}
    item = await page.locator('.palette-item[data-node-type="sleep"]').bounding_box()
    assert item
    await drag(page, {"x": item["x"] + 30, "y": item["y"] + 20}, middle)
    found = await edges(page)
    assert ("call", "sleep_1", "next") in found and ("sleep_1", "done", "next") in found
    assert ("call", "done", "next") not in found

    await page.keyboard.press("Control+z")
    assert "sleep_1" not in await node_ids(page)
    assert ("call", "done", "next") in await edges(page)
