"""Pages name a step by its label first and its id second, small (`code.id`); a step
without a label by its id alone. The labels are those of the version the order ran."""

from __future__ import annotations

import re

from tests.blueprints.factories import linear, node

REFUSED = "http://127.0.0.1:9/returns"  # a loopback address: refused, so the step fails


def named(label: str, node_id: str) -> str:
    return f'<span class="step-label">{label}</span> <code class="id">{node_id}</code>'


def flat(html: str) -> str:
    return re.sub(r"\s+", " ", html)


async def test_the_dashboard_orders_list_and_timeline_show_labels(
        live_client, api_call, published, create_order, get_order, run_worker) -> None:
    await api_call({"id": "make", "name": "Make", "method": "POST", "url": REFUSED})
    await published(linear(node("pick", "function", function="first", label="Pick an item",
                                args={"items": "[1, 2]"}, save={"item": "result"}),
                           node("make", "api_call", api_call="make", label="Create the return"),
                           blueprint_id="labelled"))
    await create_order("l-1", "labelled", {})
    await run_worker()
    order = await get_order("l-1")
    assert (order["state"], order["failed_node"]) == ("failed", "make")

    dashboard = flat((await live_client.get("/")).text)
    failing = dashboard.split('id="failing-steps"')[1].split("</table>")[0]
    assert named("Create the return", "make") in failing
    slowest = dashboard.split('id="slowest-steps"')[1].split("</table>")[0]
    assert named("Pick an item", "pick") in slowest
    assert '<code class="id id-only">start</code>' in slowest  # no label: the id alone
    failures = dashboard.split('id="recent-failures"')[1].split("</ul>")[0]
    assert named("Create the return", "make") in failures

    listed = flat((await live_client.get("/orders?state=failed")).text)
    assert f'✕ {named("Create the return", "make")}' in listed

    page = flat((await live_client.get("/orders/l-1")).text)
    assert f'<dd class="failed-node">{named("Create the return", "make")}</dd>' in page
    assert '<strong class="step-label">Pick an item</strong> <code class="id">pick</code>' in page
    assert '<strong><code class="id id-only">start</code></strong>' in page
    assert "Error at " + named("Create the return", "make") in page


async def test_labels_come_from_the_version_the_order_ran(
        live_client, api_call, published, create_order, run_worker) -> None:
    await api_call({"id": "make", "name": "Make", "method": "POST", "url": REFUSED})
    first = linear(node("make", "api_call", api_call="make", label="Old name"),
                   blueprint_id="renamed")
    await published(first)
    await create_order("r-1", "renamed", {})
    await run_worker()
    first["nodes"][1]["label"] = "New name"
    assert (await live_client.put("/api/blueprints/renamed", json=first)).status_code == 200
    assert (await live_client.post("/api/blueprints/renamed/publish")).status_code == 201
    page = flat((await live_client.get("/orders/r-1")).text)
    assert named("Old name", "make") in page and "New name" not in page
    listed = flat((await live_client.get("/orders?blueprint=renamed")).text)
    assert named("Old name", "make") in listed
