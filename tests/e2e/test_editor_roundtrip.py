"""The editor end to end: every step type dragged in, an API call configured, saved and
found again after a reload, an unsaved `vars` read pinned on its node, and the returns
example round-tripped without a change to its logic."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.helpers import (
    create_blueprint,
    doc,
    drag,
    fill_code,
    get_blueprint,
    linear_doc,
    open_editor,
    select_node,
    wait_validated,
)

pytestmark = pytest.mark.browser
EXAMPLE = Path(__file__).resolve().parents[2] / "blueprints" / "returns-approved.json"
DRAGGABLE = ("api_call", "function", "condition", "sleep", "wait_signal", "end")


def logic(blueprint: dict) -> tuple[list, list]:
    """Nodes and edges, layout left out: what a run depends on."""
    edges = sorted((e["source"], e["target"], e.get("kind", "next")) for e in blueprint["edges"])
    return sorted(blueprint["nodes"], key=lambda n: n["id"]), edges


async def test_every_step_type_drags_in_and_survives_save_and_reload(page: Page,
                                                                     server: str) -> None:
    await create_blueprint(server, linear_doc("e2e-types"))
    await open_editor(page, "e2e-types")
    canvas = await page.locator("#canvas").bounding_box()
    assert canvas
    for index, kind in enumerate(DRAGGABLE):
        item = await page.locator(f'.palette-item[data-node-type="{kind}"]').bounding_box()
        assert item
        target = {"x": canvas["x"] + 120 + 130 * index, "y": canvas["y"] + canvas["height"] - 90}
        await drag(page, {"x": item["x"] + 30, "y": item["y"] + 20}, target)
    types = [node["type"] for node in (await doc(page))["nodes"]]
    for kind in DRAGGABLE:
        assert types.count(kind) == (2 if kind in ("api_call", "end") else 1), (kind, types)

    added = next(node["id"] for node in (await doc(page))["nodes"]
                 if node["type"] == "api_call" and node["id"] != "call")
    await select_node(page, added)
    await page.select_option("#panel select[name=api_call]", "generate-us-label")
    await page.wait_for_function(
        f"window.waybillEditor.findNode('{added}').getData().node.api_call"
        " === 'generate-us-label'")
    before = await doc(page)
    await page.keyboard.press("Control+s")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")

    await page.reload()
    await page.wait_for_selector("#editor[data-ready=true]")
    after = await doc(page)
    assert logic(after) == logic(before)
    assert after["layout"].keys() == before["layout"].keys()
    stored = (await get_blueprint(server, "e2e-types"))["draft"]
    assert next(n for n in stored["nodes"] if n["id"] == added)["api_call"] \
        == "generate-us-label"


async def test_a_var_not_saved_on_every_path_is_pinned_on_its_reader(page: Page,
                                                                     server: str) -> None:
    blueprint = linear_doc("e2e-dataflow")
    blueprint["nodes"].insert(1, {"id": "is_us", "type": "condition",
                                  "expression": "input.country == 'US'"})
    blueprint["edges"] = [{"source": "start", "target": "is_us"},
                          {"source": "is_us", "target": "call", "kind": "true"},
                          {"source": "is_us", "target": "done", "kind": "false"},
                          {"source": "call", "target": "done"}]
    await create_blueprint(server, blueprint)
    await open_editor(page, "e2e-dataflow")
    await expect(page.locator("#problem-count")).to_have_text("Valid")

    await select_node(page, "done")
    await fill_code(page, "#panel [name=result]", "vars.return_id")
    await wait_validated(page)
    badge = page.locator('#canvas [data-cell-id="n:done"] .wb-badge')
    await expect(badge).to_be_visible()
    await expect(page.locator("#problem-list .problem").first).to_contain_text("vars.return_id")
    await expect(page.locator('#canvas [data-cell-id="n:call"] .wb-badge')).to_be_hidden()


async def test_the_returns_example_round_trips_unchanged(page: Page, server: str) -> None:
    original = json.loads(EXAMPLE.read_text())
    await open_editor(page, "returns-approved")
    boxes = await page.evaluate("""() => window.waybillEditor.graph.getNodes()
        .map((n) => { const b = n.getBBox(); return [b.x, b.y, b.width, b.height]; })""")
    for i, (x, y, w, h) in enumerate(boxes):  # laid out readably: no two steps overlap
        for (x2, y2, w2, h2) in boxes[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    await page.click("[data-action=save]")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")
    async with httpx.AsyncClient(base_url=server) as http:
        exported = (await http.get("/api/blueprints/returns-approved/export")).json()
    assert logic(exported) == logic(original)
    assert exported["input_schema"] == original["input_schema"]
    assert exported["layout"].keys() == original["layout"].keys()


WATCH_LIGHTS = """() => {
  window.__lit = [];
  const editor = window.waybillEditor;
  setInterval(() => {
    for (const cell of editor.graph.getNodes()) {
      const id = cell.getData().node.id;
      const stroke = (cell.getAttrs().ring || {}).stroke;
      if (stroke === "#16a34a" && !window.__lit.includes(id)) window.__lit.push(id);
    }
  }, 5);
}"""


async def test_a_test_run_of_the_returns_example_lights_its_path_in_order(page: Page) -> None:
    await open_editor(page, "returns-approved")
    await page.evaluate(WATCH_LIGHTS)
    await page.click("[data-action=test-run]")
    payload = json.loads(await page.input_value("#testrun-dialog textarea[name=input]"))
    assert payload["country"] == "US"  # prefilled from the blueprint's sample input
    payload["country"] = "CA"
    await page.fill("#testrun-dialog textarea[name=input]", json.dumps(payload))
    await page.locator("#testrun-dialog input[name=mock]").set_checked(False)
    await page.click("#testrun-dialog button[type=submit]")
    await expect(page.locator("#run-tray [data-run-state]")).to_have_text("completed",
                                                                         timeout=15_000)
    lit = await page.evaluate("window.__lit")
    path = ["start", "generate_response", "is_us", "ca_label", "create_return",
            "record_workflow", "wants_cancel", "cancel_subscription", "wait_for_item",
            "instant_refund", "update_match", "refund_order", "comment_ticket", "refunded"]
    assert [node for node in lit if node in path] == path  # lit one after another, in order
    assert "us_label" not in lit
    await expect(page.locator('#canvas [data-cell-id="n:us_label"]')).to_have_class(
        re.compile(r"\bwb-skipped\b"))
