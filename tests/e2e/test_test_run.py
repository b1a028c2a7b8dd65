"""The editor's test run tray: steps light up, the steps not taken are shown as skipped, a
step clicked on the canvas after the run unfolds its request, response and saved values, and
a run waiting for a signal can be sent one. The run's timeline draws the draft it ran."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import put_api_call, put_variable, refunds_call, signal_step
from tests.e2e.helpers import create_blueprint, node_center, open_editor

pytestmark = pytest.mark.browser
SKIPPED = re.compile(r"\bwb-skipped\b")


def branching_doc(blueprint_id: str) -> dict:
    return {
        "id": blueprint_id, "name": "Branching run",
        "sample_input": {"go": "yes"},
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "check", "type": "condition", "expression": "input.go == 'yes'"},
            {"id": "call", "type": "api_call", "api_call": "e2e-run-call", "save": {"n": "response.status"}},
            {"id": "done", "type": "end", "status": "completed"},
            {"id": "other_end", "type": "end", "status": "completed"},
        ],
        "edges": [{"source": "start", "target": "check"},
                  {"source": "check", "target": "call", "kind": "true"},
                  {"source": "check", "target": "other_end", "kind": "false"},
                  {"source": "call", "target": "done"}],
        "layout": {"start": {"x": 0, "y": 0}, "check": {"x": 260, "y": 0}, "call": {"x": 520, "y": -80},
                   "done": {"x": 780, "y": -80}, "other_end": {"x": 520, "y": 100}},
    }


async def start_run(page: Page, payload: str | None = None, mock: bool = True) -> None:
    await page.click("[data-action=test-run]")
    if payload is not None:
        await page.fill("#testrun-dialog textarea[name=input]", payload)
    await page.locator("#testrun-dialog input[name=mock]").set_checked(mock)
    await page.click("#testrun-dialog button[type=submit]")
    await expect(page.locator("#run-tray")).to_be_visible()


async def test_skipped_steps_and_step_details(page: Page, http: httpx.AsyncClient, server: str) -> None:
    await put_variable(http, "e2e_run_fail", "0")
    await put_api_call(http, refunds_call("e2e-run-call", "e2e_run_fail"))
    await create_blueprint(server, branching_doc("e2e-run"))
    await open_editor(page, "e2e-run")
    await start_run(page)
    await expect(page.locator("#run-tray [data-run-state]")).to_have_text("completed")
    await expect(page.locator("#run-tray .run-step")).to_have_count(4)
    await expect(page.locator("[data-run-skipped]")).to_contain_text("other_end")
    skipped = page.locator('#canvas [data-cell-id="n:other_end"]')
    await expect(skipped).to_have_class(SKIPPED)
    await expect(page.locator('#canvas [data-cell-id="n:call"]')).not_to_have_class(SKIPPED)
    call = page.locator("#run-tray .run-step[data-node=call]")
    await page.evaluate("window.waybillEditor.graph.centerCell(window.waybillEditor.findNode('call'))")
    center = await node_center(page, "call")  # in the middle of the canvas, clear of the tray
    await page.mouse.click(center["x"], center["y"])  # the step on the canvas, after the run
    await expect(call).to_have_class(re.compile(r"\bis-focused\b"))
    await expect(call.locator(".run-more")).to_have_attribute("open", "")
    await expect(call.locator(".run-json").nth(0)).to_contain_text("Idempotency-Key")  # request
    await expect(call.locator(".run-json").nth(1)).to_contain_text('"mocked": true')  # response
    await expect(call.locator(".run-saved")).to_have_text('{"n":200}')
    await expect(page.locator("[data-run-cancel]")).to_be_hidden()

    await start_run(page, '{"go": "no"}', mock=False)  # another run: the other branch
    await expect(page.locator("#run-tray [data-run-state]")).to_have_text("completed")
    await expect(page.locator("[data-run-skipped]")).to_contain_text("call")
    await expect(skipped).not_to_have_class(SKIPPED)

    await page.click("[data-run-link]")  # the run's timeline draws the draft it ran
    await page.wait_for_selector("#order-graph[data-ready=true]")
    await expect(page.locator('#order-graph [data-cell-id="n:other_end"]')).to_have_attribute(
        "data-status", "completed")
    await expect(page.locator('#order-graph [data-cell-id="n:call"]')).to_have_class(SKIPPED)


async def test_a_waiting_run_takes_a_signal_from_the_tray(page: Page, server: str) -> None:
    doc = {"id": "e2e-run-signal", "name": "Run with a signal",
           "nodes": [{"id": "start", "type": "start"}, signal_step("approved"),
                     {"id": "done", "type": "end", "status": "completed", "result": "vars.approved_by"}],
           "edges": [{"source": "start", "target": "approval"}, {"source": "approval", "target": "done"}],
           "layout": {"start": {"x": 0, "y": 0}, "approval": {"x": 260, "y": 0}, "done": {"x": 520, "y": 0}}}
    await create_blueprint(server, doc)
    await open_editor(page, "e2e-run-signal")
    await start_run(page, "{}")
    form = page.locator("[data-run-signal]")
    await expect(form).to_be_visible()
    await expect(form.locator("[data-signal-name]")).to_have_text("approved")
    await expect(page.locator("[data-run-cancel]")).to_be_visible()
    await form.locator("textarea[name=payload]").fill('{"by": "<b>tray</b>"}')
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#run-tray [data-run-state]")).to_have_text("completed")
    await expect(form).to_be_hidden()
    saved = page.locator("#run-tray .run-step[data-node=approval] .run-saved")
    await expect(saved).to_contain_text("<b>tray</b>")  # text, not markup


async def test_a_multi_item_run_shows_its_children_and_branches(page: Page) -> None:
    await open_editor(page, "returns-multi-item")  # the example, with its child blueprint
    await start_run(page, mock=False)  # the sample input's three lines, on the demo services
    await expect(page.locator("#run-tray [data-run-state]")).to_have_text("completed", timeout=30_000)
    children = page.locator('#run-tray .run-children[data-children="each_line"]')
    await expect(children).to_have_text("3 of 3 children done")
    for node in ("each_line", "fan", "refund_lines", "comment_labels", "meet"):
        await expect(page.locator(f"#run-tray .run-step[data-node={node}]").last).to_have_attribute(
            "data-status", "completed")

    await page.click("[data-run-link]")  # the parent's timeline: children linked, path drawn
    await page.wait_for_selector("#order-graph[data-ready=true]")
    progress = page.locator('[data-children="each_line"]')
    await expect(progress).to_contain_text("3 of 3")
    await expect(page.locator('#order-graph [data-cell-id="n:comment_labels"]')).to_have_attribute(
        "data-status", "completed")
    # start→each_line→fan, both branches out of fan and into meet, meet→done: every edge
    await expect(page.locator('#order-graph .x6-edge[data-taken="true"]')).to_have_count(7)
    await progress.locator(".children-all").click()
    await expect(page.locator("#orders-table tbody tr")).to_have_count(3)
    await page.locator("#orders-table tbody tr a").first.click()
    await expect(page.locator("[data-parent-link]")).to_be_visible()
