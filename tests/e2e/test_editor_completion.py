"""Expressions written with help: the panel's expression fields are code editors that
complete from what the server knows at that step (the vars saved on every path there, the
input schema's properties, the response's fields), an API call's response can be kept by
clicking its fields, and a test run's saved values show beside the save rows."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.flows import put_api_call
from tests.e2e.helpers import (
    code_field,
    create_blueprint,
    doc,
    get_blueprint,
    open_editor,
    select_node,
    wait_validated,
)

pytestmark = pytest.mark.browser
SCHEMA = {"type": "object", "required": ["ticket_id"], "properties": {
    "ticket_id": {"type": "string", "description": "the support ticket"},
    "country": {"type": "string", "description": "ship-from country"},
    "reason": {"type": "string"}}}
CARRIER_CALL = {"id": "e2e-carrier", "name": "Carrier label", "method": "POST",
                "url": "{{ variables.demo_url }}/labels/us",
                "mock": {"status": 201, "body": {"id": "lbl_1", "carrier": "USPS",
                                                 "label": {"url": "https://l/1"}}}}


def returns_doc(blueprint_id: str) -> dict:
    """start → make (saves return_id) → check ⇒ label (saves tracking) | done; label → done."""
    return {
        "id": blueprint_id, "name": "Completion", "input_schema": SCHEMA,
        "sample_input": {"ticket_id": "T-1", "country": "US"},
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "make", "type": "api_call", "api_call": "create-return",
             "args": {"ticket_id": "input.ticket_id", "order_id": "input.ticket_id",
                      "tracking_number": "'t1'"},
             "save": {"return_id": "response.body.id"}},
            {"id": "check", "type": "condition", "expression": "input.country == 'US'"},
            {"id": "label", "type": "api_call", "api_call": "e2e-carrier",
             "save": {"tracking": "response.body.id"}},
            {"id": "done", "type": "end", "status": "completed"},
        ],
        "edges": [{"source": "start", "target": "make"}, {"source": "make", "target": "check"},
                  {"source": "check", "target": "label", "kind": "true"},
                  {"source": "check", "target": "done", "kind": "false"},
                  {"source": "label", "target": "done"}],
        "layout": {"start": {"x": 0, "y": 0}, "make": {"x": 230, "y": 0},
                   "check": {"x": 460, "y": 0}, "label": {"x": 690, "y": -90},
                   "done": {"x": 690, "y": 90}},
    }


async def type_into(page: Page, source: str, text: str) -> None:
    """Click at the end of an expression field's code editor and type, key by key, once the
    panel has settled (its code fields drawn, the edit before this one validated: a panel
    drawn again while keys are typed would take them into the form it replaces)."""
    await wait_validated(page)
    await page.wait_for_selector("#panel form[data-panel=node][data-code-ready]")
    await code_field(page, source).locator(".cm-content").click()
    await page.keyboard.press("End")
    await page.keyboard.type(text)
    if text.endswith("."):  # the list typed so far (`input`) gives way to the one after the dot
        word = text[:-1].split()[-1].split(".")[-1]
        await page.wait_for_function("""(word) => {
            const labels = [...document.querySelectorAll(
                '.cm-tooltip-autocomplete .cm-completionLabel')].map((label) => label.textContent);
            return labels.length > 0 && !labels.includes(word);
        }""", arg=word)


async def offered(page: Page) -> dict[str, str]:
    """The open completion list: each option's label and its detail."""
    options = page.locator(".cm-tooltip-autocomplete li")
    await expect(options.first).to_be_visible()
    found: dict[str, str] = dict(await options.evaluate_all("""(items) => items.map((item) => [
        item.querySelector('.cm-completionLabel').textContent,
        item.querySelector('.cm-completionDetail')?.textContent || ''])"""))
    return found


async def test_vars_are_offered_where_every_path_saved_them(page: Page, http: httpx.AsyncClient,
                                                            server: str) -> None:
    await put_api_call(http, CARRIER_CALL)
    await create_blueprint(server, returns_doc("e2e-complete-vars"))
    await open_editor(page, "e2e-complete-vars")

    await select_node(page, "done")  # after make (every path) and label (the true path only)
    await type_into(page, "#panel textarea[name=result]", "vars.")
    options = await offered(page)
    assert options["return_id"] == ""
    assert options["tracking"] == "only on some paths"  # marked apart, below the sure ones
    assert list(options) == ["return_id", "tracking"]
    sections = page.locator(".cm-tooltip-autocomplete completion-section")
    await expect(sections).to_have_text(["saved on every path", "only on some paths"])
    await page.keyboard.type("ret")
    await expect(page.locator(".cm-tooltip-autocomplete li")).to_have_count(1)
    await page.wait_for_timeout(120)  # keys pressed the instant a list opens do not pick from it
    await page.keyboard.press("Enter")  # picks the completion; a one-line field takes no newline
    await expect(page.locator(".cm-tooltip-autocomplete")).to_have_count(0)
    await page.wait_for_function(
        "window.waybillEditor.findNode('done').getData().node.result === 'vars.return_id'")

    await select_node(page, "make")  # the step that saves it: not in scope there yet
    source = "#panel .pair:has(.pair-key[value=ticket_id]) .pair-value"
    await type_into(page, source, " ~ input.")
    await expect(page.locator(".cm-tooltip-autocomplete li").first).to_be_visible()  # scope came
    await page.keyboard.press("Escape")
    await page.keyboard.type(" ~ vars.")
    await page.wait_for_timeout(200)
    labels = await page.locator(".cm-tooltip-autocomplete .cm-completionLabel").all_inner_texts()
    assert "return_id" not in labels

    # the panel turning to another step while a field has the focus: that field's blur does
    # not write the form it leaves onto the step the panel now shows
    await page.evaluate("window.waybillEditor.graph.resetSelection(window.waybillEditor.findNode('check'))")
    await page.wait_for_selector('#panel form[data-cell="n:check"] .cm-editor')
    await page.wait_for_timeout(400)
    check = next(n for n in (await doc(page))["nodes"] if n["id"] == "check")
    assert check == {"id": "check", "type": "condition", "expression": "input.country == 'US'"}


async def test_input_offers_the_schemas_properties(page: Page, http: httpx.AsyncClient,
                                                   server: str) -> None:
    await put_api_call(http, CARRIER_CALL)
    await create_blueprint(server, returns_doc("e2e-complete-input"))
    await open_editor(page, "e2e-complete-input")
    await select_node(page, "check")
    await type_into(page, "#panel textarea[name=expression]", " and input.")
    options = await offered(page)
    assert options == {"country": "string", "reason": "string", "ticket_id": "string"}
    await page.keyboard.type("tic")
    info = page.locator(".cm-tooltip.cm-completionInfo")
    await expect(info).to_contain_text("the support ticket")
    await expect(info).to_contain_text("T-1")  # the sample input's value

    await page.keyboard.press("Escape")
    await page.keyboard.type("ket_id | f")  # after a `|`: the functions, as filters
    labels = page.locator(".cm-tooltip-autocomplete .cm-completionLabel")
    await expect(labels.filter(has_text="first")).to_be_visible()
    assert "input" not in await labels.all_inner_texts()  # a filter's place: no names


async def test_clicking_the_response_keeps_a_field_and_a_run_shows_what_was_saved(
        page: Page, http: httpx.AsyncClient, server: str) -> None:
    await put_api_call(http, CARRIER_CALL)
    await create_blueprint(server, returns_doc("e2e-complete-keep"))
    await open_editor(page, "e2e-complete-keep")
    await select_node(page, "label")
    tree = page.locator("#panel [data-response-tree]")
    await expect(tree.locator(".rt-field")).to_have_count(4)  # id, carrier, label, label.url
    await expect(tree.locator('[data-keep="response.body.carrier"]')).to_contain_text("USPS")

    await tree.locator('[data-keep="response.body.carrier"]').click()
    row = page.locator("#panel [data-pairs=save] .pair:has(.pair-key[value=carrier])")
    await expect(row.locator(".cm-content")).to_have_text("response.body.carrier")
    node = next(n for n in (await doc(page))["nodes"] if n["id"] == "label")
    assert node["save"] == {"tracking": "response.body.id", "carrier": "response.body.carrier"}
    await tree.locator('[data-keep="response.body.label.url"]').click()  # a name not taken yet
    await expect(page.locator("#panel [data-pairs=save] .pair-key[value=url]")).to_have_count(1)
    await page.keyboard.press("Control+z")  # each click is one step to undo
    await expect(page.locator("#panel [data-pairs=save] .pair-key[value=url]")).to_have_count(0)
    await expect(row).to_have_count(1)

    await page.keyboard.press("Control+s")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")
    saved = (await get_blueprint(server, "e2e-complete-keep"))["draft"]
    assert next(n for n in saved["nodes"] if n["id"] == "label")["save"] == {
        "tracking": "response.body.id", "carrier": "response.body.carrier"}

    await page.click("[data-action=test-run]")  # the sample input: the true path, mocked
    await page.click("#testrun-dialog button[type=submit]")
    await expect(page.locator("#run-tray [data-run-state]")).to_have_text("completed")
    await expect(row.locator(".pair-was")).to_have_text("was: USPS")
    tracking = page.locator("#panel [data-pairs=save] .pair:has(.pair-key[value=tracking])")
    await expect(tracking.locator(".pair-was")).to_have_text("was: lbl_1")
    await select_node(page, "make")  # another step's panel shows what that step saved
    make_row = page.locator("#panel [data-pairs=save] .pair:has(.pair-key[value=return_id])")
    await expect(make_row.locator(".pair-was")).to_contain_text("was: ")
