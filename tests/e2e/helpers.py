"""Small steps the browser tests share: making blueprints over the API, finding canvas points,
dragging with the mouse. Canvas coordinates come from the editor's own graph (exposed on
`window.waybillEditor`) so that a test never guesses pixel positions."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Locator, Page

Point = dict[str, float]


def linear_doc(blueprint_id: str, name: str = "E2E flow") -> dict[str, Any]:
    """start → call → done, with one API call from the examples."""
    return {
        "id": blueprint_id, "name": name,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": "api_call", "api_call": "create-return",
             "args": {"ticket_id": "input.ticket_id", "order_id": "input.order_id",
                      "tracking_number": "'t1'"},
             "save": {"return_id": "response.body.id"}},
            {"id": "done", "type": "end", "status": "completed"},
        ],
        "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "done"}],
        "layout": {"start": {"x": 0, "y": 0}, "call": {"x": 300, "y": 0},
                   "done": {"x": 600, "y": 0}},
    }


async def create_blueprint(server: str, doc: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server) as http:
        await http.delete(f"/api/blueprints/{doc['id']}")
        answer = await http.post("/api/blueprints", json=doc)
        assert answer.status_code == 201, answer.text
        return answer.json()


async def get_blueprint(server: str, blueprint_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server) as http:
        answer = await http.get(f"/api/blueprints/{blueprint_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()


async def open_editor(page: Page, blueprint_id: str) -> None:
    await page.goto(f"/blueprints/{blueprint_id}")
    await page.wait_for_selector("#editor[data-ready=true]")
    await page.wait_for_selector("#panel form[data-panel]")


async def doc(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("window.waybillEditor.toDoc()")
    return result


async def node_ids(page: Page) -> list[str]:
    return [node["id"] for node in (await doc(page))["nodes"]]


async def edges(page: Page) -> list[tuple[str, str, str]]:
    return sorted((e["source"], e["target"], e.get("kind", "next")) for e in (await doc(page))["edges"])


async def node_center(page: Page, node_id: str) -> Point:
    point: Point = await page.evaluate(
        """(id) => { const e = window.waybillEditor; const cell = e.findNode(id);
            const p = e.graph.localToClient(cell.getBBox().getCenter()); return {x: p.x, y: p.y}; }""",
        node_id)
    return point


async def port_point(page: Page, node_id: str, group: str) -> Point:
    point: Point = await page.evaluate(
        """([id, group]) => { const e = window.waybillEditor;
            const view = e.graph.findViewByCell(e.findNode(id));
            const box = view.container.querySelector(`[port="${group}"]`).getBoundingClientRect();
            return {x: box.x + box.width / 2, y: box.y + box.height / 2}; }""",
        [node_id, group])
    return point


async def drag(page: Page, start: Point, end: Point) -> None:
    await page.mouse.move(start["x"], start["y"])
    await page.mouse.down()
    await page.mouse.move((start["x"] + end["x"]) / 2, (start["y"] + end["y"]) / 2, steps=6)
    await page.mouse.move(end["x"], end["y"], steps=6)
    await page.mouse.up()


async def connect(page: Page, source: str, target: str, group: str = "out") -> None:
    await drag(page, await port_point(page, source, group), await port_point(page, target, "in"))


async def select_node(page: Page, node_id: str) -> None:
    center = await node_center(page, node_id)
    await page.mouse.click(center["x"], center["y"])
    await page.wait_for_selector(f'#panel form[data-panel=node] input[name=id][value="{node_id}"]')


async def wait_validated(page: Page) -> None:
    """Wait for the debounced validation that follows an edit to come back."""
    await page.wait_for_function("window.waybillEditor && !window.waybillEditor.validating")


def code_field(page: Page, source: str | Locator) -> Locator:
    """The code editor (CodeMirror) drawn for an expression field; `source` is the form
    element that holds its value (a textarea or input, hidden) or a selector of it."""
    element = page.locator(source) if isinstance(source, str) else source
    return element.locator("xpath=following-sibling::div"
                           "[contains(concat(' ', @class, ' '), ' cm-editor ')][1]")


async def fill_code(page: Page, source: str | Locator, text: str) -> None:
    """Replace an expression field's text by typing, as a person would: click into it,
    select everything, type; then close a completion list the typing opened."""
    await code_field(page, source).locator(".cm-content").click()
    await page.keyboard.press("Control+a")
    if text:
        await page.keyboard.type(text)
    else:
        await page.keyboard.press("Backspace")
    await page.keyboard.press("Escape")


async def plus(page: Page, node_id: str, port: str) -> Locator:
    """The "+" of a step's free port (a step added in the editor has a cell id of X6's making)."""
    cell: str = await page.evaluate("(id) => window.waybillEditor.findNode(id).id", node_id)
    return page.locator(f'#canvas [data-cell-id="{cell}"] .wb-add[data-port="{port}"]')
