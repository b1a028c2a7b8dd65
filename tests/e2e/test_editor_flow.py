"""The editor and flow control: a `for_each` dragged in and pointed at a child blueprint (whose
published input schema the panel turns into input rows to map), a `parallel` whose out port
draws branch after branch, and port rules that follow a catalogue changed on the server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import _ensure_bundle, _running, open_tab
from tests.e2e.flows import chain, publish
from tests.e2e.helpers import (
    connect,
    create_blueprint,
    drag,
    edges,
    fill_code,
    get_blueprint,
    node_ids,
    open_editor,
    select_node,
    wait_validated,
)

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")
LINE_SCHEMA = {"type": "object", "required": ["sku", "qty"],
               "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}}


async def ports(page: Page, node_id: str) -> list[str]:
    found: list[str] = await page.evaluate(
        "(id) => window.waybillEditor.findNode(id).getPorts().map((p) => p.group)", node_id)
    return sorted(found)


async def shoot(page: Page, name: str, only: str | None = None) -> None:
    """A screenshot to look at, once validation settled, the pointer away from the nodes."""
    await wait_validated(page)
    await page.mouse.move(5, 5, steps=4)
    SHOTS.mkdir(exist_ok=True)
    target = page.locator(only) if only else page
    await target.screenshot(path=str(SHOTS / name))


async def detail(page: Page, node_id: str) -> str:
    """The third line a node shows: what it does."""
    text: str = await page.evaluate(
        "(id) => window.waybillEditor.findNode(id).attr('detail/text')", node_id)
    return text


async def drop_from_palette(page: Page, node_type: str, x: float, y: float) -> None:
    """Drag a palette item to (x, y), as fractions of the canvas."""
    canvas = await page.locator("#canvas").bounding_box()
    item = await page.locator(f'.palette-item[data-node-type="{node_type}"]').bounding_box()
    assert canvas and item
    await drag(page, {"x": item["x"] + 30, "y": item["y"] + 20},
               {"x": canvas["x"] + canvas["width"] * x, "y": canvas["y"] + canvas["height"] * y})


async def test_for_each_maps_the_child_blueprints_inputs(page: Page, server: str,
                                                          http: httpx.AsyncClient) -> None:
    await publish(http, chain("e2e-flow-line", name="Refund one line") | {"input_schema": LINE_SCHEMA})
    await create_blueprint(server, chain("e2e-flow-draft", name="Draft only"))
    await create_blueprint(server, chain("e2e-flow-parent", name="Refund every line"))
    await open_editor(page, "e2e-flow-parent")
    await drop_from_palette(page, "for_each", 0.5, 0.75)
    assert "each_1" in await node_ids(page)

    await select_node(page, "each_1")
    picker = page.locator("#panel select[name=blueprint]")
    await expect(picker.locator("option[value=e2e-flow-draft]")).to_contain_text("never published")
    await expect(picker.locator("option[value=e2e-flow-line]")).not_to_contain_text("never published")
    assert await picker.locator("option[value=e2e-flow-parent]").count() == 0  # not itself
    await picker.select_option("e2e-flow-line")

    # the panel comes back with the child's inputs as rows to map, and a link to the child
    suggested = page.locator("#panel .pairs[data-pairs=input] .pair-suggested .pair-key")
    await expect(suggested).to_have_count(2)
    assert await suggested.evaluate_all("(keys) => keys.map((k) => k.value)") == ["sku", "qty"]
    await expect(page.locator("#panel [data-child-preview]")).to_contain_text("sku")
    link = page.locator("#panel a[data-open-child]")
    await expect(link).to_have_attribute("href", "/blueprints/e2e-flow-line")
    await expect(link).to_have_attribute("target", "_blank")

    await fill_code(page, "#panel .pair:has(.pair-key[value=sku]) .pair-value", "item.sku")
    await fill_code(page, "#panel .pair:has(.pair-key[value=qty]) .pair-value", "item.qty")
    await fill_code(page, "#panel textarea[name=items]", "input.lines")
    await page.fill("#panel input[name=concurrency]", "5")
    await page.fill("#panel input[name=tolerated_failures]", "3")  # a count is a number
    await page.wait_for_function(
        "window.waybillEditor.findNode('each_1').getData().node.tolerated_failures === 3")
    await page.fill("#panel input[name=tolerated_failures]", "10%")  # a share stays a string
    await page.locator("#panel .pairs[data-pairs=save] .pair:has(.pair-value[value=results]) .pair-key"
                       ).fill("refunds")
    await page.set_viewport_size({"width": 1440, "height": 1240})  # the whole panel in view
    await page.locator("#panel").evaluate("(panel) => { panel.scrollTop = 0; }")
    await shoot(page, "for-each-panel.png")

    await page.keyboard.press("Control+s")
    await expect(page.locator("#save-status")).to_have_text("All changes saved")
    saved = (await get_blueprint(server, "e2e-flow-parent"))["draft"]
    node = next(n for n in saved["nodes"] if n["id"] == "each_1")
    assert node == {"id": "each_1", "type": "for_each", "items": "input.lines",
                    "blueprint": "e2e-flow-line", "input": {"sku": "item.sku", "qty": "item.qty"},
                    "concurrency": 5, "tolerated_failures": "10%", "save": {"refunds": "results"}}
    assert (await detail(page, "each_1")).startswith("each of input.lines")


def fan_doc(blueprint_id: str) -> dict[str, Any]:
    nodes = [{"id": "start", "type": "start"}, {"id": "fan", "type": "parallel"},
             {"id": "label", "type": "sub_blueprint", "blueprint": "e2e-flow-line",
              "input": {"sku": "input.sku", "qty": "1"}, "save": {"label": "result"}},
             {"id": "nap", "type": "sleep", "duration": "1m"},
             {"id": "count", "type": "function", "function": "length", "args": {"value": "input.lines"}},
             {"id": "meet", "type": "join"},
             {"id": "each", "type": "for_each", "items": "input.lines", "blueprint": "e2e-flow-line",
              "input": {"sku": "item.sku", "qty": "item.qty"}, "concurrency": 4},
             {"id": "done", "type": "end"}]
    return {"id": blueprint_id, "name": "Fan out", "nodes": nodes,
            "edges": [{"source": "start", "target": "fan"}, {"source": "label", "target": "meet"},
                      {"source": "nap", "target": "meet"}, {"source": "count", "target": "meet"},
                      {"source": "meet", "target": "each"}, {"source": "each", "target": "done"}],
            "layout": {"start": {"x": 0, "y": 0}, "fan": {"x": 250, "y": 0},
                       "label": {"x": 520, "y": -110}, "nap": {"x": 520, "y": 0},
                       "count": {"x": 520, "y": 110}, "meet": {"x": 790, "y": 0},
                       "each": {"x": 1040, "y": 0}, "done": {"x": 1290, "y": 0}}}


async def test_a_parallel_draws_branch_after_branch(page: Page, server: str,
                                                    http: httpx.AsyncClient) -> None:
    await publish(http, chain("e2e-flow-line", name="Refund one line") | {"input_schema": LINE_SCHEMA})
    await create_blueprint(server, fan_doc("e2e-flow-fan"))
    await open_editor(page, "e2e-flow-fan")
    for target in ("label", "nap", "count"):  # no question asked: the port's one kind is branch
        await connect(page, "fan", target)
    assert {("fan", t, "branch") for t in ("label", "nap", "count")} <= set(await edges(page))
    await expect(page.locator('[data-cell-id="n:fan"] text').nth(2)).to_have_text("3 branches")
    await expect(page.locator('[data-cell-id="n:meet"] text').nth(2)).to_have_text("waits for all branches")
    await expect(page.locator('[data-cell-id="n:label"] text').nth(2)).to_have_text("→ e2e-flow-line")
    # siblings are curves that part at once, not right angles sharing their first segment
    connectors = await page.evaluate(
        """() => window.waybillEditor.graph.getEdges()
             .filter((e) => e.getData()?.kind === 'branch').map((e) => e.getConnector()?.name)""")
    assert connectors == ["smooth"] * 3
    await page.evaluate("window.waybillEditor.graph.zoomToFit({ padding: 24, maxScale: 1 })")
    await shoot(page, "editor-flow-nodes.png", "#canvas")

    await page.keyboard.press("Control+z")  # one branch fewer, and the node says so
    await expect(page.locator('[data-cell-id="n:fan"] text').nth(2)).to_have_text("2 branches")
    await select_node(page, "meet")
    await expect(page.locator("#panel .panel-note")).to_contain_text("every branch")
    await shoot(page, "join-panel.png")

    await select_node(page, "label")  # a sub-blueprint: its inputs are mapped, its result kept
    await expect(page.locator("#panel [data-child-preview]")).to_contain_text("v1")
    assert await page.locator("#panel .pair-suggested").count() == 0
    await expect(page.locator("#panel .pairs[data-pairs=input] .pair-key")).to_have_count(2)
    await shoot(page, "sub-blueprint-panel.png")


# A server whose catalogue differs from the shipped one: a wait for a signal has no failed path,
# and a sleep may lead to several next steps. The JavaScript is the same bundle.
PATCHED_SERVER = """
import sys
from backend.engine.catalogue import NODE_TYPES
NODE_TYPES["wait_signal"].out = ["next"]
NODE_TYPES["sleep"].fan_out = "next"
from backend.app.cli import app
app(["web", "--port", sys.argv[1]])
"""


@pytest.fixture
def patched_server(tmp_path: Path) -> Iterator[str]:
    _ensure_bundle()
    with _running(tmp_path, [sys.executable, "-c", PATCHED_SERVER], LOAD_EXAMPLES="false") as url:
        yield url


@pytest.fixture
async def patched_page(browser: Browser, patched_server: str) -> AsyncIterator[Page]:
    async with open_tab(browser, patched_server) as tab:
        yield tab


async def test_port_rules_follow_the_servers_catalogue(patched_page: Page,
                                                       patched_server: str) -> None:
    page = patched_page
    served = httpx.get(f"{patched_server}/api/node-types").json()
    by_type = {spec["type"]: spec for spec in served["node_types"]}
    assert by_type["wait_signal"]["out"] == ["next"] and by_type["sleep"]["fan_out"] == "next"
    await create_blueprint(patched_server, {
        "id": "e2e-flow-rules", "name": "Rules",
        "nodes": [{"id": "start", "type": "start"}, {"id": "nap", "type": "sleep", "duration": "1m"},
                  {"id": "wait", "type": "wait_signal", "signal": "go"},
                  {"id": "done", "type": "end"}, {"id": "also", "type": "end"}],
        "edges": [{"source": "start", "target": "nap"}, {"source": "nap", "target": "done"},
                  {"source": "wait", "target": "done"}],
        "layout": {"start": {"x": 0, "y": 0}, "nap": {"x": 260, "y": 0},
                   "wait": {"x": 260, "y": 160}, "done": {"x": 560, "y": 0},
                   "also": {"x": 560, "y": 160}}})
    await open_editor(page, "e2e-flow-rules")

    assert await ports(page, "wait") == ["in", "out"]  # the server took its failed path away
    assert await ports(page, "nap") == ["failed", "in", "out"]
    await connect(page, "wait", "also")  # its one next step: moved, as from any taken port
    assert ("wait", "also", "next") in await edges(page)
    assert ("wait", "done", "next") not in await edges(page)
    await connect(page, "nap", "also")  # a sleep fans out along next now: a second edge
    assert {("nap", "done", "next"), ("nap", "also", "next")} <= set(await edges(page))
