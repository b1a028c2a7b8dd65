"""Words, not ids: where a person reads a step, its label comes first and its id second,
small (`code.id`); a step without a label shows its id alone. And what was typed is never
dropped: an input schema that is not JSON refuses Save, Test run and Publish with its error
shown, the text kept. The problem tooltip follows the problems it shows."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

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
from tests.e2e.helpers import (
    create_blueprint,
    get_blueprint,
    linear_doc,
    node_center,
    open_editor,
    select_node,
    wait_validated,
)

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots"


def labelled_doc(blueprint_id: str) -> dict:
    """start → “Check country” (whose expression does not parse) ⇒ “Ship” (a bad duration) |
    wait_ok (no label) → “Done”."""
    return {
        "id": blueprint_id, "name": "Labelled",
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "check_country", "type": "condition", "label": "Check country",
                   "expression": "input.country. == 'US'"},
                  {"id": "ship", "type": "sleep", "label": "Ship", "duration": "3 days"},
                  {"id": "wait_ok", "type": "sleep", "duration": "1s"},
                  {"id": "done", "type": "end", "label": "Done"}],
        "edges": [{"source": "start", "target": "check_country"},
                  {"source": "check_country", "target": "ship", "kind": "true"},
                  {"source": "check_country", "target": "wait_ok", "kind": "false"},
                  {"source": "ship", "target": "done"}, {"source": "wait_ok", "target": "done"}],
        "layout": {"start": {"x": 0, "y": 100}, "check_country": {"x": 260, "y": 100},
                   "ship": {"x": 520, "y": 0}, "wait_ok": {"x": 520, "y": 200},
                   "done": {"x": 780, "y": 100}}}


async def expect_named(where: Locator, label: str, node_id: str, timeout: float = 5_000) -> None:
    await expect(where.locator(".step-label")).to_have_text(label, timeout=timeout)
    await expect(where.locator("code.id")).to_have_text(node_id)


async def test_the_problem_list_names_steps_by_label(page: Page, server: str) -> None:
    await create_blueprint(server, labelled_doc("e2e-words-problems"))
    await open_editor(page, "e2e-words-problems")
    await wait_validated(page)
    problems = page.locator("#problem-list .problem")
    await expect(problems).to_have_count(2)
    await expect_named(problems.nth(0).locator(".problem-where"), "Check country", "check_country")
    await expect(problems.nth(0).locator(".problem-message")).to_have_text(
        "In the condition: Expected a name after “.” at column 16.")
    await expect_named(problems.nth(1).locator(".problem-where"), "Ship", "ship")
    await page.locator("#problem-list").screenshot(path=f"{SHOTS}/words-problem-list.png")

    await page.evaluate("""() => { const e = window.waybillEditor;
        e.graph.removeCell(e.findEdge('wait_ok', 'done')); }""")  # a step without a label
    await wait_validated(page)
    dead_end = page.locator("#problem-list .problem", has_text="The flow stops at this step")
    await expect(dead_end.locator(".problem-where .step-label")).to_have_count(0)
    await expect(dead_end.locator(".problem-where code.id-only")).to_have_text("wait_ok")


async def test_the_edge_panel_names_both_steps(page: Page, server: str) -> None:
    await create_blueprint(server, labelled_doc("e2e-words-edge"))
    await open_editor(page, "e2e-words-edge")
    await page.evaluate("""() => { const e = window.waybillEditor;
        e.graph.resetSelection(e.findEdge('check_country', 'ship')); }""")
    title = page.locator("#panel form[data-panel=edge] .panel-title")
    await expect(title).to_have_text("Check country check_country → Ship ship")
    await expect(title.locator(".step-label")).to_have_text(["Check country", "Ship"])


async def test_the_problem_tooltip_follows_the_problems(page: Page, server: str) -> None:
    data = labelled_doc("e2e-words-tooltip")
    data["nodes"][1]["save"] = {"9lives": "'x'"}  # a second problem on the same step
    await create_blueprint(server, data)
    await open_editor(page, "e2e-words-tooltip")
    await wait_validated(page)
    tip = page.locator("#hover-tip")
    center = await node_center(page, "check_country")
    await page.mouse.move(center["x"], center["y"])
    await expect(tip).to_be_visible()
    await expect_named(tip.locator(".tip-head"), "Check country", "check_country")
    await expect(tip).to_contain_text("Expected a name after “.”")
    await expect(tip).to_contain_text("“9lives” cannot be the name of a saved value")

    async def edit(**fields: object) -> None:  # as the panel would, the mouse still on the step
        await page.evaluate("""(fields) => { const cell = window.waybillEditor.findNode('check_country');
            cell.setData({node: {...cell.getData().node, ...fields}}, {overwrite: true}); }""", fields)
        await wait_validated(page)

    await edit(expression="input.country == 'US'")  # one fixed: it drops out while hovering
    await expect(tip).not_to_contain_text("Expected a name")
    await expect(tip).to_contain_text("“9lives” cannot be the name of a saved value")
    await edit(save={})  # none left: the tooltip hides
    await expect(tip).to_be_hidden()

    await page.mouse.move(5, 5)
    await edit(expression="input.country ==")  # broken again: the next hover shows it
    await page.mouse.move(center["x"], center["y"])
    await expect(tip).to_be_visible()
    await expect(tip).to_contain_text("Unexpected end of the expression at column 17")


async def break_the_schema(page: Page) -> Locator:
    """Type text that is not JSON into the input schema, look at a step, come back."""
    field = page.locator("#panel textarea[name=input_schema]")
    await field.click()
    await field.press("End")
    await page.keyboard.type(' {"broken": ')
    await select_node(page, "call")
    await page.keyboard.press("Escape")  # the blueprint's settings again
    await expect(field).to_have_value('{\n  "type": "object"\n} {"broken": ')
    return field


async def expect_refused(page: Page, server: str, field: Locator, before: dict) -> None:
    message = page.locator("#panel textarea[name=input_schema] + .field-msg")
    await expect(page.locator("#save-status")).to_have_text("Not saved")
    await expect(page.locator(".toast-error").last).to_contain_text("fix the input schema first")
    await expect(message).to_contain_text("Not valid JSON")
    await expect(field).to_have_value('{\n  "type": "object"\n} {"broken": ')
    assert (await get_blueprint(server, before["id"]))["draft"] == before


@pytest.mark.parametrize("action", ["save", "test-run", "publish"])
async def test_an_input_schema_that_is_not_json_blocks_every_way_to_save(
        page: Page, server: str, action: str) -> None:
    blueprint_id = f"e2e-words-schema-{action}"
    await create_blueprint(server, linear_doc(blueprint_id) | {"input_schema": {"type": "object"}})
    before = (await get_blueprint(server, blueprint_id))["draft"]
    await open_editor(page, blueprint_id)
    field = await break_the_schema(page)
    await select_node(page, "call")  # act while the panel shows a step: the error still counts
    await page.click(f"[data-action={action}]")
    if action == "test-run":
        await page.fill("#testrun-dialog textarea[name=input]", '{"ticket_id": "T-1"}')
        await page.click("#testrun-dialog button[type=submit]")
        await expect(page.locator("#testrun-dialog")).not_to_have_attribute("open", "")
        await expect(page.locator("#run-tray")).to_be_hidden()
    await expect_refused(page, server, field, before)
    await page.screenshot(path=f"{SHOTS}/words-schema-refused-{action}.png")
    if action == "test-run":  # what was typed into the dialog is still there
        await page.click("[data-action=test-run]")
        await expect(page.locator("#testrun-dialog textarea[name=input]")).to_have_value(
            '{"ticket_id": "T-1"}')


async def test_the_run_tray_names_steps_by_label(page: Page, http: httpx.AsyncClient,
                                                 server: str) -> None:
    await put_variable(http, "e2e_words_fail", "0")
    await put_api_call(http, refunds_call("e2e-words-call", "e2e_words_fail"))
    await create_blueprint(server, chain("e2e-words-run", call_step(
        "e2e-words-call", label="Look up refunds")))
    await open_editor(page, "e2e-words-run")
    await page.click("[data-action=test-run]")
    await page.click("#testrun-dialog button[type=submit]")
    await expect(page.locator("#run-tray [data-run-state]")).to_have_text("completed")
    row = page.locator("#run-tray .run-step[data-node=call] .run-step-name")
    await expect_named(row, "Look up refunds", "call")
    await expect(page.locator("#run-tray .run-step[data-node=done] .run-step-name code.id-only")
                 ).to_have_text("done")
    await page.locator("#run-tray").screenshot(path=f"{SHOTS}/words-run-tray.png")


async def test_the_dashboard_names_steps_by_label(page: Page, http: httpx.AsyncClient) -> None:
    await put_variable(http, "e2e_words_dash_fail", "always")
    await put_api_call(http, refunds_call("e2e-words-dash-call", "e2e_words_dash_fail"))
    await publish(http, chain("e2e-words-dash", call_step("e2e-words-dash-call",
                                                          label="Refund the order")))
    await create_orders(http, "e2e-words-dash", ["words-dash-1"])
    await wait_for(http, ["words-dash-1"], {"failed"})
    await page.goto("/")
    failing = page.locator("#failing-steps tr[data-blueprint=e2e-words-dash][data-node=call]")
    # step figures are cached for up to STEPS_TTL_S (10 s); the live page fetches them again
    await expect_named(failing.locator(".step-name"), "Refund the order", "call", timeout=15_000)
    failure = page.locator("#recent-failures li[data-order=words-dash-1] .failure-where")
    await expect_named(failure, "Refund the order", "call")
    await page.locator("#failing-steps").screenshot(path=f"{SHOTS}/words-dashboard-failing.png")
    await page.locator(".steps-card").first.screenshot(path=f"{SHOTS}/words-dashboard-slowest.png")
    await page.goto("/orders?blueprint=e2e-words-dash")
    await expect_named(page.locator("tr[data-order=words-dash-1] .failed-node"),
                       "Refund the order", "call")
    await page.goto("/orders/words-dash-1")
    await expect_named(page.locator("dd.failed-node"), "Refund the order", "call")
