"""The multi-item return example (`returns-multi-item`, with its child `return-line-label`):
the flow-control format as the design writes it, the loader's order, and, once the
flow-control runtime lands, the whole order on the real worker against the demo services.

Until then `test_demo_app.py::test_multi_item_return_node_by_node` runs its lines and its
branches one node at a time on the real engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from backend.blueprints.files import EXAMPLES, children_first, import_file, load_examples_once
from backend.engine.expressions import evaluate
from backend.engine.format import BlueprintDoc

PARENT, CHILD = "returns-multi-item", "return-line-label"
FINAL = {"completed", "failed", "cancelled"}


def load(name: str) -> BlueprintDoc:
    return BlueprintDoc.model_validate(json.loads((EXAMPLES / f"{name}.json").read_text()))


def nodes_of(doc: BlueprintDoc) -> dict[str, Any]:
    return {node.id: node for node in doc.nodes}


def sample_scope(doc: BlueprintDoc) -> dict[str, Any]:
    order = {"id": "order-1", "blueprint": doc.id, "version": 1}
    return {"input": doc.sample_input, "vars": {}, "order": order, "variables": {}}


# --- the files ---------------------------------------------------------------------------------

def test_the_for_each_is_written_as_the_design_says():
    parent = load(PARENT)
    each = nodes_of(parent)["each_line"]
    assert each.model_dump(exclude_none=True, exclude_defaults=True) == {
        "id": "each_line", "type": "for_each", "label": "Label per line", "items": "input.lines",
        "blueprint": CHILD, "concurrency": 3, "save": {"labels": "results"},
        "input": {"ticket_id": "input.ticket_id", "country": "input.country", "sku": "item.sku",
                  "qty": "item.qty", "line": "index"}}
    assert len(parent.sample_input["lines"]) == 3
    jsonschema.validate(parent.sample_input, parent.input_schema)


def test_every_child_input_is_accepted_by_the_child():
    parent, child = load(PARENT), load(CHILD)
    assert child.input_schema["required"] == ["sku", "qty", "country", "ticket_id"]
    each = nodes_of(parent)["each_line"]
    scope = sample_scope(parent)
    items = evaluate(each.items, scope)
    assert items == parent.sample_input["lines"]
    for index, item in enumerate(items):
        child_input = {key: evaluate(source, scope | {"item": item, "index": index})
                       for key, source in each.input.items()}
        assert child_input == {"ticket_id": "228477", "country": "US", "sku": item["sku"],
                               "qty": item["qty"], "line": index}
        jsonschema.validate(child_input, child.input_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"sku": "A", "qty": 1, "country": "US"}, child.input_schema)


def test_the_parallel_has_two_branches_that_meet_at_the_join():
    parent = load(PARENT)
    nodes = nodes_of(parent)
    assert (nodes["fan"].type, nodes["meet"].type, nodes["done"].type) == (
        "parallel", "join", "end")
    branches = [edge for edge in parent.edges if edge.source == "fan"]
    assert [(edge.target, edge.kind) for edge in branches] == [
        ("refund_lines", "branch"), ("comment_labels", "branch")]
    into_join = {edge.source for edge in parent.edges if edge.target == "meet"}
    assert into_join == {"refund_lines", "comment_labels"}
    assert [(e.source, e.target, e.kind) for e in parent.edges if e.source == "meet"] == [
        ("meet", "done", "next")]
    refund, comment = nodes["refund_lines"], nodes["comment_labels"]
    assert not set(refund.save) & set(comment.save)  # no parallel_write_conflict
    assert "vars.labels" in comment.args["tracking_numbers"]  # saved before the fork
    assert evaluate(refund.args["total"], sample_scope(parent)) == 8000


@pytest.mark.parametrize("name", [PARENT, CHILD])
def test_the_layout_reads_left_to_right(name):
    doc = load(name)
    assert set(doc.layout) == {node.id for node in doc.nodes}
    for edge in doc.edges:
        assert doc.layout[edge.source].x < doc.layout[edge.target].x, edge.key
    spots = [(position.x, position.y) for position in doc.layout.values()]
    assert len(set(spots)) == len(spots)


# --- loading: children before their parents ---------------------------------------------------

def test_the_examples_load_children_first():
    order = [path.stem for path in children_first(sorted(EXAMPLES.glob("*.json")))]
    assert order.index(CHILD) < order.index(PARENT)
    assert sorted(order) == sorted(path.stem for path in EXAMPLES.glob("*.json"))


def test_children_first_whatever_the_names(tmp_path: Path):
    def write(name: str, blueprint: str, child: str | None = None) -> Path:
        nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
        if child:
            nodes.append({"id": "sub", "type": "sub_blueprint", "blueprint": child})
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"id": blueprint, "name": blueprint, "nodes": nodes}))
        return path

    parent = write("a-parent", "parent", "middle")
    middle = write("b-middle", "middle", "leaf")
    leaf = write("c-leaf", "leaf")
    alone = write("d-alone", "alone", "not-a-file")
    loop_a, loop_b = write("e-loop", "loop-a", "loop-b"), write("f-loop", "loop-b", "loop-a")
    assert children_first([parent, middle, leaf, alone, loop_a, loop_b]) == [
        leaf, middle, parent, alone, loop_b, loop_a]


# --- once the flow-control validation and runtime land ------------------------------------------

async def test_the_example_validates_once_its_child_is_published(client: httpx.AsyncClient,
                                                                 sessions) -> None:
    definition = load(PARENT).canonical()
    async with sessions() as session:  # drafts: the parent's import brings its API calls
        await import_file(session=session, path=EXAMPLES / f"{CHILD}.json")
        parent = await import_file(session=session, path=EXAMPLES / f"{PARENT}.json",
                                   publish_it=True)
    assert (parent.valid, parent.latest_version) == (False, None)
    early = (await client.post("/api/blueprints/validate", json=definition)).json()
    assert early["valid"] is False
    assert [(problem["node"], problem["code"]) for problem in early["errors"]] == [
        ("each_line", "unpublished_blueprint")]
    published = await client.post(f"/api/blueprints/{CHILD}/publish")
    assert published.status_code == 201, published.text
    report = (await client.post("/api/blueprints/validate", json=definition)).json()
    assert report == {"valid": True, "errors": []}


ORDER = "multi-1"


async def test_multi_item_return_runs_end_to_end(live_app, live_client, live_settings,
                                                 run_worker, demo_url) -> None:
    """The examples loaded as `waybill dev` loads them; one order of the sample through a real
    worker: three child orders make the labels, both branches call the demo, the join meets."""
    async with live_app.state.waybill.sessions() as session:
        await load_examples_once(session=session, settings=live_settings)
    for name in (CHILD, PARENT):
        shown = (await live_client.get(f"/api/blueprints/{name}")).json()
        assert (shown["latest_version"], shown["errors"]) == (1, []), name
    sample = load(PARENT).sample_input
    created = await live_client.post("/api/orders", json={
        "order_id": ORDER, "blueprint": PARENT, "input": sample})
    assert created.status_code == 201, created.text

    order: dict[str, Any] = {}
    for _ in range(10):  # children wake their parent; a burst worker may end between them
        await run_worker()
        order = (await live_client.get(f"/api/orders/{ORDER}")).json()
        if order["state"] in FINAL:
            break
    assert order["state"] == "completed", order["error"]

    children = [(await live_client.get(f"/api/orders/{ORDER}.each_line.{index}")).json()
                for index in range(3)]
    assert [(child["state"], child["blueprint"], child["parent"]) for child in children] == [
        ("completed", CHILD, ORDER)] * 3
    labels = order["result"]["labels"]
    assert labels == [child["result"] for child in children]
    assert [(label["line"], label["sku"], label["qty"]) for label in labels] == [
        (index, line["sku"], line["qty"]) for index, line in enumerate(sample["lines"])]
    tracking = [label["tracking_number"] for label in labels]
    assert len(set(tracking)) == 3 and all(number.startswith("9400") for number in tracking)

    async with httpx.AsyncClient() as http:
        logged = (await http.get(f"{demo_url}/calls")).json()["data"]
    label_calls = [call for call in logged if call["path"] == "/labels"]
    assert sorted(call["idempotency_key"] for call in label_calls) == [
        f"{ORDER}.each_line.{index}:label" for index in range(3)]
    refunds = [call for call in logged if call["path"] == "/refunds/lines"]
    comments = [call for call in logged if call["path"] == "/tickets/228477/comments"]
    assert [(call["idempotency_key"], call["status"]) for call in refunds] == [
        (f"{ORDER}:refund_lines", 201)]
    assert refunds[0]["body"]["lines"] == sample["lines"] and refunds[0]["body"]["total"] == 8000
    assert [(call["idempotency_key"], call["status"]) for call in comments] == [
        (f"{ORDER}:comment_labels", 201)]
    assert all(number in comments[0]["body"]["body"] for number in tracking)
    assert order["result"] == {"labels": labels, "refund_id": "re_228477_lines_1",
                               "refunded": 8000, "comment_id": "cmt_228477_1"}
    visited = {step["node"] for step in order["steps"]}
    assert {"each_line", "fan", "refund_lines", "comment_labels", "done"} <= visited
