"""The demo services, their failure injection, and the example blueprints that call them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from backend.api_calls.schemas import ApiCallSpec
from backend.blueprints.schemas import BlueprintDoc, Node
from backend.demo.app import create_demo_app
from backend.demo.calls import MAX_DELAY_MS, fault_params
from backend.engine.expressions import evaluate, parse_error, render, template_sources
from backend.engine.functions import REGISTRY

ROOT = Path(__file__).resolve().parents[2] / "blueprints"
BLUEPRINTS = ("returns-approved", "order-state-manager")
KEY = {"Idempotency-Key": "order-1:node"}


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=create_demo_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
        yield http


async def calls(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    return (await client.get("/calls", params=filters)).json()["data"]


# --- returns seed endpoints ---------------------------------------------------------------

async def test_response_is_generated_from_the_message(client):
    body = {"ticket_id": 228476, "message": "I would like to process a Return", "x": 1}
    first = await client.post("/responses", json=body)
    assert first.status_code == 200
    assert first.json()["id"] == "resp_228476"
    assert first.json()["intent"] == "return"
    assert "#228476" in first.json()["text"]
    assert (await client.post("/responses", json=body)).json() == first.json()


async def test_labels_are_deterministic_per_country(client):
    us = (await client.post("/labels/us", json={"ticket_id": "228476"})).json()
    ca = (await client.post("/labels/ca", json={"ticket_id": "228476"})).json()
    again = (await client.post("/labels/us", json={"ticket_id": "228476"})).json()
    assert us["carrier"] == "USPS" and ca["carrier"] == "Canada Post"
    assert us["tracking_number"].startswith("9400") and len(us["tracking_number"]) == 22
    assert len(ca["tracking_number"]) == 16 and again["tracking_number"] == us["tracking_number"]
    label = await client.get(us["label_url"])
    assert label.status_code == 200 and label.json()["id"] == "lbl_us_228476"
    assert (await client.get("/labels/nope")).status_code == 404
    assert (await client.post("/labels/us", json={})).status_code == 422


async def test_return_is_created_once_per_ticket(client):
    created = await client.post("/returns", json={"ticket_id": 228476, "order_id": "1001"})
    assert created.status_code == 201
    assert created.json() | {"idempotency_key": None} == {
        "id": "ret_228476", "ticket_id": "228476", "order_id": "1001", "tracking_number": None,
        "reason": None, "status": "open", "workflow_id": None, "matched": False,
        "idempotency_key": None}
    again = await client.post("/returns", json={"ticket_id": "228476"})
    assert again.status_code == 200 and again.json()["order_id"] == "1001"


async def test_return_is_patched_with_workflow_id_and_match(client):
    await client.post("/returns", json={"ticket_id": "T-1"})
    linked = await client.patch("/returns/ret_T-1", json={"workflow_id": "order-1"}, headers=KEY)
    assert linked.status_code == 200 and linked.json()["workflow_id"] == "order-1"
    assert linked.json()["idempotency_key"] == KEY["Idempotency-Key"]
    matched = await client.patch("/returns/ret_T-1", json={"matched": True})
    assert matched.json()["matched"] is True and matched.json()["status"] == "matched"
    assert (await client.get("/returns/ret_T-1")).json()["workflow_id"] == "order-1"


async def test_unknown_return_and_bad_patch(client):
    missing = await client.patch("/returns/ret_nope", json={"matched": True})
    assert missing.status_code == 404
    assert missing.json() == {"error": "return ret_nope not found"}
    await client.post("/returns", json={"ticket_id": "1"})
    bad = await client.patch("/returns/ret_1", json={"colour": "red"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid request"


async def test_odd_ticket_ids_give_url_safe_ids(client):
    created = (await client.post("/returns", json={"ticket_id": "a/b c"})).json()
    assert created["id"].startswith("ret_") and "/" not in created["id"]
    assert (await client.get(f"/returns/{created['id']}")).status_code == 200


async def test_subscription_is_cancelled(client):
    body = {"customer_email": "jane@example.com", "ticket_id": 228476}
    first = await client.post("/subscriptions/cancel", json=body)
    assert first.status_code == 200
    assert first.json()["status"] == "cancelled" and first.json()["already_cancelled"] is False
    assert first.json()["ticket_id"] == "228476"
    again = await client.post("/subscriptions/cancel", json=body)
    assert again.json()["already_cancelled"] is True and again.json()["id"] == first.json()["id"]
    bad = await client.post("/subscriptions/cancel", json={"customer_email": "nope"})
    assert bad.status_code == 422


async def test_refunds_are_new_without_a_key(client):
    first = await client.post("/refunds", json={"order_id": 1001})
    second = await client.post("/refunds", json={"order_id": "1001", "amount": 12.5})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == "re_1001_1" and first.json()["full"] is True
    assert second.json()["id"] == "re_1001_2" and second.json()["amount"] == 12.5
    listed = (await client.get("/refunds", params={"order_id": "1001"})).json()["data"]
    assert [refund["id"] for refund in listed] == ["re_1001_1", "re_1001_2"]
    assert (await client.get("/refunds", params={"order_id": "other"})).json()["data"] == []


async def test_ticket_comments(client):
    posted = await client.post("/tickets/228476/comments", json={"body": "Refund issued."})
    assert posted.status_code == 201
    assert posted.json()["id"] == "cmt_228476_1" and posted.json()["public"] is True
    listed = (await client.get("/tickets/228476/comments")).json()["data"]
    assert [comment["body"] for comment in listed] == ["Refund issued."]
    assert (await client.post("/tickets/228476/comments", json={"body": ""})).status_code == 422


# --- state manager endpoints ----------------------------------------------------------------

async def test_order_lifecycle(client):
    created = await client.post("/orders", json={"reference": "SO-1001", "customer_id": "c"})
    assert created.status_code == 201 and created.json()["id"] == "ord_SO-1001"
    items = (await client.get("/orders/ord_SO-1001/items")).json()
    assert items["count"] == len(items["items"]) >= 1
    assert all({"sku", "qty"} <= item.keys() for item in items["items"])
    sku = items["items"][0]["sku"]
    processed = await client.post("/orders/ord_SO-1001/process", json={"sku": sku, "qty": 1})
    assert processed.status_code == 200 and processed.json()["status"] == "processed"
    failed = await client.post("/orders/ord_SO-1001/fail", json={"reason": "x", "error": {"a": 1}})
    assert failed.json()["status"] == "failed"
    order = (await client.get("/orders/ord_SO-1001")).json()
    assert order["failures"] == [{"reason": "x", "step": None, "error": {"a": 1}}]
    assert (await client.post("/orders", json={"reference": "SO-1001"})).status_code == 200


async def test_order_items_are_deterministic_or_given(client):
    await client.post("/orders", json={"reference": "A"})
    first = (await client.get("/orders/ord_A/items")).json()["items"]
    await client.delete("/calls")
    await client.post("/orders", json={"reference": "A"})
    assert (await client.get("/orders/ord_A/items")).json()["items"] == first
    given = {"reference": "B", "items": [{"sku": "X-1", "qty": 3}]}
    order = (await client.post("/orders", json=given)).json()
    assert order["items"] == [{"sku": "X-1", "qty": 3, "unit_price": 1000}]


async def test_order_errors(client):
    assert (await client.get("/orders/ord_nope")).status_code == 404
    assert (await client.get("/orders/ord_nope/items")).status_code == 404
    assert (await client.post("/orders/ord_nope/fail", json={})).status_code == 404
    await client.post("/orders", json={"reference": "R", "items": [{"sku": "S"}]})
    wrong = await client.post("/orders/ord_R/process", json={"sku": "OTHER"})
    assert wrong.status_code == 422 and wrong.json() == {"error": "sku OTHER is not on order ord_R"}


# --- failure injection ------------------------------------------------------------------------

async def test_fail_n_fails_then_succeeds(client):
    statuses = [(await client.post("/returns?fail=2", json={"ticket_id": "1"})).status_code
                for _ in range(3)]
    assert statuses == [500, 500, 201]
    failure = await client.post("/refunds?fail=1", json={"order_id": "1"})
    assert failure.json() == {"error": "injected failure 1 (1)"}
    assert [call["status"] for call in await calls(client, path="/returns")] == [500, 500, 201]


async def test_fail_count_is_per_idempotency_key(client):
    async def post(key: str) -> int:
        headers = {"Idempotency-Key": key}
        response = await client.post("/refunds?fail=1", json={"order_id": "1"}, headers=headers)
        return response.status_code

    assert [await post("a"), await post("a"), await post("b"), await post("b")] == [
        500, 201, 500, 201]


async def test_fail_always_and_status(client):
    for _ in range(3):
        response = await client.get("/orders/x/items?fail=always&fail_status=503")
        assert response.status_code == 503 and "error" in response.json()


async def test_permanent_and_rate_limited_failures(client):
    permanent = await client.post("/orders?fail=1&fail_status=400", json={"reference": "a"})
    assert permanent.status_code == 400 and "retry-after" not in permanent.headers
    limited = await client.post("/orders?fail=1&fail_status=429", json={"reference": "b"},
                                headers=KEY)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"


async def test_fail_mode_after_loses_the_response_not_the_write(client):
    url = "/refunds?fail=1&fail_mode=after"
    lost = await client.post(url, json={"order_id": "9"}, headers=KEY)
    retried = await client.post(url, json={"order_id": "9"}, headers=KEY)
    assert lost.status_code == 500 and retried.status_code == 201
    assert retried.headers["idempotent-replayed"] == "true"
    assert len((await client.get("/refunds")).json()["data"]) == 1


async def test_delay_ms_answers_slowly(client):
    started = time.monotonic()
    response = await client.post("/responses?delay_ms=150", json={"ticket_id": "1"})
    assert response.status_code == 200 and time.monotonic() - started >= 0.15
    assert fault_params(delay_ms=10**9).delay_ms == MAX_DELAY_MS


@pytest.mark.parametrize("query", ["fail=abc", "fail=-1", "fail_status=200", "delay_ms=-5",
                                   "fail_mode=sometimes"])
async def test_bad_flags_are_rejected(client, query):
    response = await client.post(f"/responses?{query}", json={"ticket_id": "1"})
    assert response.status_code == 422 and response.json()["error"] == "invalid request"


async def test_flags_work_on_the_call_log_too(client):
    assert (await client.get("/calls?fail=1")).status_code == 500
    assert (await client.get("/calls")).status_code == 200


# --- idempotency and the call log -----------------------------------------------------------

async def test_idempotent_replay_returns_the_first_result(client):
    first = await client.post("/refunds", json={"order_id": "1001"}, headers=KEY)
    replay = await client.post("/refunds", json={"order_id": "1001"}, headers=KEY)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert first.json()["idempotency_key"] == KEY["Idempotency-Key"]
    assert "idempotent-replayed" not in first.headers
    assert replay.headers["idempotent-replayed"] == "true"
    assert len((await client.get("/refunds")).json()["data"]) == 1


async def test_replays_are_snapshots(client):
    await client.post("/orders", json={"reference": "S", "items": [{"sku": "A"}]})
    body, key = {"sku": "A"}, {"Idempotency-Key": "k1"}
    first = (await client.post("/orders/ord_S/process", json=body, headers=key)).json()
    await client.post("/orders/ord_S/process", json=body, headers={"Idempotency-Key": "k2"})
    replay = (await client.post("/orders/ord_S/process", json=body, headers=key)).json()
    assert replay == first and len(replay["processed"]) == 1


async def test_every_write_echoes_the_key(client):
    await client.post("/returns", json={"ticket_id": "E"})
    await client.post("/orders", json={"reference": "E", "items": [{"sku": "A"}]})
    ticket = {"ticket_id": "E"}
    writes = [("POST", "/responses", ticket), ("POST", "/labels/us", ticket),
              ("POST", "/labels/ca", ticket), ("POST", "/returns", ticket),
              ("PATCH", "/returns/ret_E", {"matched": True}),
              ("POST", "/refunds", {"order_id": "E"}),
              ("POST", "/subscriptions/cancel", {"customer_email": "e@x.io"}),
              ("POST", "/tickets/E/comments", {"body": "hi"}),
              ("POST", "/orders", {"reference": "F"}),
              ("POST", "/orders/ord_E/process", {"sku": "A"}), ("POST", "/orders/ord_E/fail", {})]
    for method, path, body in writes:
        response = await client.request(method, path, json=body, headers={"Idempotency-Key": path})
        assert response.json()["idempotency_key"] == path, path


async def test_call_log_records_and_clears(client):
    await client.post("/returns?fail=1", json={"ticket_id": "L"}, headers=KEY)
    await client.get("/returns/ret_L")
    logged = await calls(client)
    assert logged[0] == {"seq": 1, "method": "POST", "path": "/returns", "query": {"fail": "1"},
                         "idempotency_key": "order-1:node", "body": {"ticket_id": "L"},
                         "status": 500}
    assert logged[1]["path"] == "/returns/ret_L" and logged[1]["status"] == 404
    assert len(await calls(client, method="GET")) == 1
    cleared = await client.delete("/calls")
    assert cleared.json() == {"cleared": 2}
    assert await calls(client) == []
    assert (await client.post("/returns?fail=1", json={"ticket_id": "L"})).status_code == 500


async def test_mounted_at_demo_paths_stay_relative():
    parent = FastAPI()
    parent.mount("/demo", create_demo_app())
    transport = httpx.ASGITransport(app=parent)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as http:
        label = (await http.post("/demo/labels/us", json={"ticket_id": "M"})).json()
        assert label["label_url"].startswith("http://host/demo/labels/")
        assert (await http.get(label["label_url"])).status_code == 200
        logged = (await http.get("/demo/calls")).json()["data"]
    tracking = label["tracking_number"]
    assert [call["path"] for call in logged] == ["/labels/us", f"/labels/{tracking}"]


# --- example blueprints -----------------------------------------------------------------------

def load_blueprint(name: str) -> BlueprintDoc:
    return BlueprintDoc.model_validate_json((ROOT / f"{name}.json").read_text())


def load_api_call(name: str) -> ApiCallSpec:
    return ApiCallSpec.model_validate_json((ROOT / "api_calls" / f"{name}.json").read_text())


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_blueprint_files_parse_and_reference_api_calls(name):
    doc = load_blueprint(name)
    assert doc.id == name and set(doc.layout) == {node.id for node in doc.nodes}
    jsonschema.validate(doc.sample_input, doc.input_schema)
    for node in doc.nodes:
        assert node.label, node.id
        if node.type == "api_call":
            spec = load_api_call(node.api_call)
            assert spec.id == node.api_call and spec.mock is not None
            assert spec.url.startswith("{{ variables.demo_url }}/")


def test_every_api_call_file_is_used_and_parses():
    used = {node.api_call for name in BLUEPRINTS for node in load_blueprint(name).nodes}
    files = {path.stem for path in (ROOT / "api_calls").glob("*.json")}
    assert files == used - {None}
    for name in files:
        spec = load_api_call(name)
        assert spec.mock is not None and spec.mock.body
        for source in template_sources([spec.url, spec.headers, spec.query, spec.body]):
            assert parse_error(source, template=True) is None, (name, source)


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_blueprint_expressions_parse(name):
    for node in load_blueprint(name).nodes:
        sources = [*node.args.values(), *node.save.values(), node.expression, node.result]
        for source in filter(None, sources):
            assert parse_error(source) is None, (node.id, source)


def test_returns_input_schema_requires_email_to_cancel():
    schema = load_blueprint("returns-approved").input_schema
    base = {"ticket_id": "1", "country": "US", "order_id": "2"}
    jsonschema.validate(base, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(base | {"cancel_subscription": True}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(base | {"country": "MX"}, schema)


class Walker:
    """A minimal stand-in for the engine: walks a blueprint against the demo app or mocks."""

    def __init__(self, client: httpx.AsyncClient, doc: BlueprintDoc, inputs: dict, **opts: Any):
        self.client, self.doc, self.mock = client, doc, opts.get("mock", False)
        self.faults: dict[str, dict[str, str]] = opts.get("faults", {})
        self.nodes = {node.id: node for node in doc.nodes}
        self.edges = {(edge.source, edge.kind): edge.target for edge in doc.edges}
        self.scope: dict[str, Any] = {
            "input": inputs, "vars": {}, "variables": {"demo_url": "http://demo"},
            "order": {"id": "order-1", "blueprint": doc.id, "version": 1}}
        self.path: list[str] = []

    async def run(self) -> tuple[str, Any]:
        node = next(node for node in self.doc.nodes if node.type == "start")
        while node.type != "end":
            self.path.append(node.id)
            node = self.nodes[self.edges[(node.id, await self.step(node))]]
        self.path.append(node.id)
        return node.status, evaluate(node.result, self.scope)

    async def step(self, node: Node) -> str:
        if node.type == "condition":
            return "true" if evaluate(node.expression, self.scope) else "false"
        if node.type == "function":
            result = REGISTRY[node.function](**self.args(node))
            self.save(node, {"result": result})
        if node.type == "api_call":
            return await self.call(node)
        return "next"

    def args(self, node: Node) -> dict[str, Any]:
        return {name: evaluate(source, self.scope) for name, source in node.args.items()}

    def save(self, node: Node, extra: dict[str, Any]) -> None:
        for name, source in node.save.items():
            self.scope["vars"][name] = evaluate(source, self.scope | extra)

    async def call(self, node: Node) -> str:
        spec = load_api_call(node.api_call)
        scope = self.scope | {"args": self.args(node), "node": {"id": node.id}}
        response = await self.send(spec, scope)
        if response["status"] not in spec.success_status:
            self.scope["error"] = {"status": response["status"], "message": str(response["body"])}
            return "failed"
        self.save(node, {"response": response})
        return "next"

    async def send(self, spec: ApiCallSpec, scope: dict[str, Any]) -> dict[str, Any]:
        if self.mock:
            return spec.mock.model_dump()
        key = render(spec.idempotency_key, scope)
        response = await self.client.request(
            spec.method, render(spec.url, scope), json=render(spec.body, scope),
            params=self.faults.get(spec.id), headers={"Idempotency-Key": key})
        return {"status": response.status_code, "headers": dict(response.headers),
                "body": response.json()}


RETURNS_PATHS = ["/responses", "/labels/us", "/returns", "/returns/ret_228476",
                 "/subscriptions/cancel", "/returns/ret_228476", "/refunds",
                 "/tickets/228476/comments"]


async def test_returns_blueprint_runs_against_the_demo(client):
    doc = load_blueprint("returns-approved")
    status, result = await Walker(client, doc, doc.sample_input).run()
    assert (status, result) == ("completed", "return_and_refund_processed")
    logged = await calls(client)
    assert [call["path"] for call in logged] == RETURNS_PATHS
    assert {call["status"] for call in logged} <= {200, 201}
    assert len({call["idempotency_key"] for call in logged}) == len(logged)
    ret = (await client.get("/returns/ret_228476")).json()
    assert ret["workflow_id"] == "order-1" and ret["matched"] is True
    comment = (await client.get("/tickets/228476/comments")).json()["data"][0]["body"]
    assert "re_1001_1" in comment and ret["tracking_number"] in comment


async def test_returns_blueprint_without_refund_or_cancel(client):
    doc = load_blueprint("returns-approved")
    inputs = {"ticket_id": 7, "country": "CA", "order_id": 8, "condition": "B", "match": True}
    walker = Walker(client, doc, inputs)
    assert await walker.run() == ("completed", "return_processed")
    assert "ca_label" in walker.path and "cancel_subscription" not in walker.path
    assert [call["path"] for call in await calls(client)] == [
        "/responses", "/labels/ca", "/returns", "/returns/ret_7"]


@pytest.mark.parametrize("name", BLUEPRINTS)
async def test_blueprints_run_on_mocks(client, name):
    doc = load_blueprint(name)
    status, _ = await Walker(client, doc, doc.sample_input, mock=True).run()
    assert status == "completed" and await calls(client) == []


async def test_state_manager_runs_against_the_demo(client):
    doc = load_blueprint("order-state-manager")
    walker = Walker(client, doc, doc.sample_input)
    status, result = await walker.run()
    items = (await client.get("/orders/ord_SO-1001/items")).json()["items"]
    assert status == "completed"
    assert result == {"order_id": "ord_SO-1001", "sku": items[0]["sku"], "status": "processed"}


async def test_state_manager_failed_edge_records_the_failure(client):
    doc = load_blueprint("order-state-manager")
    faults = {"process-order": {"fail": "always", "fail_status": "503"}}
    walker = Walker(client, doc, doc.sample_input, faults=faults)
    assert await walker.run() == ("failed", "process_failed")
    order = (await client.get("/orders/ord_SO-1001")).json()
    assert order["status"] == "failed"
    assert order["failures"][0]["step"] == "process_order"
    assert order["failures"][0]["error"]["status"] == 503


def test_blueprint_files_are_canonical():
    for name in BLUEPRINTS:
        text = (ROOT / f"{name}.json").read_text()
        assert json.loads(text) == load_blueprint(name).canonical(), name


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_blueprints_pass_the_validator(name):
    from backend.blueprints.files import read_api_calls, read_blueprint
    from backend.blueprints.graph import Catalog, validate

    catalog = Catalog(read_api_calls(ROOT), frozenset(REGISTRY))
    assert validate(read_blueprint(ROOT / f"{name}.json"), catalog) == []
