"""The editor's palette, ports and connection rules come from the server's node-type
catalogue, never from a copy in JavaScript: the catalogue the page carries is the one the API
serves, and a catalogue changed on its way to the browser (nothing in the JavaScript changed)
changes what the editor draws and allows."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Page, Route

from tests.e2e.helpers import connect, create_blueprint, edges, open_editor

pytestmark = pytest.mark.browser

DOC = {"id": "e2e-catalogue", "name": "Catalogue", "nodes": [
    {"id": "start", "type": "start"},
    {"id": "check", "type": "condition", "expression": "input.x == 1"},
    {"id": "nap", "type": "sleep", "duration": "1m"},
    {"id": "done", "type": "end"},
    {"id": "oops", "type": "end", "status": "failed"},
], "edges": [{"source": "start", "target": "check"},
             {"source": "check", "target": "nap", "kind": "true"},
             {"source": "check", "target": "done", "kind": "false"},
             {"source": "nap", "target": "done"}],
    "layout": {"start": {"x": 0, "y": 0}, "check": {"x": 260, "y": 0},
               "nap": {"x": 520, "y": -120}, "done": {"x": 780, "y": 0},
               "oops": {"x": 520, "y": 160}}}


async def ports(page: Page, node_id: str) -> list[str]:
    found: list[str] = await page.evaluate(
        """(id) => window.waybillEditor.findNode(id).getPorts().map((p) => p.id)""", node_id)
    return sorted(found)


async def palette(page: Page) -> list[str]:
    return await page.locator(".palette-item").evaluate_all(
        "(items) => items.map((item) => item.dataset.nodeType)")


async def test_the_page_carries_the_catalogue_the_api_serves(page: Page, server: str, http) -> None:
    await create_blueprint(server, DOC)
    await open_editor(page, DOC["id"])
    embedded = json.loads(await page.locator("#blueprint-data").text_content() or "{}")
    served = (await http.get("/api/node-types")).json()
    assert embedded["catalogue"] == served
    assert await palette(page) == [spec["type"] for spec in served["node_types"]]
    # the server lets a condition and a sleep fail along a `failed` edge: so does the editor
    assert await ports(page, "check") == ["failed", "false", "in", "true"]  # a port per branch
    assert await ports(page, "nap") == ["failed", "in", "out"]
    await connect(page, "check", "oops", "failed")
    assert ("check", "oops", "failed") in await edges(page)


async def test_a_changed_catalogue_changes_the_editor(page: Page, server: str) -> None:
    """No JavaScript changed: only the catalogue in the page, as a server change would."""
    await create_blueprint(server, DOC | {"id": "e2e-catalogue-2"})

    async def changed(route: Route) -> None:
        response = await route.fetch()
        html = await response.text()
        match = re.search(r'(<script type="application/json" id="blueprint-data">)(.*?)(</script>)',
                          html, re.DOTALL)
        assert match
        boot = json.loads(match.group(2))
        for spec in boot["catalogue"]["node_types"]:
            if spec["type"] == "sleep":
                spec["out"] = ["next"]  # no failed path
                spec["title"] = "Pause"
            if spec["type"] == "end":
                spec["accepts_in"] = False
        body = html[:match.start(2)] + json.dumps(boot) + html[match.end(2):]
        await route.fulfill(response=response, body=body)

    await page.route("**/blueprints/e2e-catalogue-2", changed)
    await page.goto("/blueprints/e2e-catalogue-2")
    await page.wait_for_selector("#editor[data-ready=true]")
    assert await ports(page, "nap") == ["in", "out"]
    assert await ports(page, "done") == []
    assert "Pause" in await page.locator('.palette-item[data-node-type="sleep"]').inner_text()
