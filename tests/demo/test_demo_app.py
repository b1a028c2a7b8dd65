"""The demo services, their failure injection, and the example blueprints that call them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from backend.blueprints.files import read_api_calls, read_blueprint
from backend.demo.app import create_demo_app
from backend.demo.calls import MAX_DELAY_MS, fault_params
from backend.engine.expressions import evaluate, parse_error, template_sources
from backend.engine.format import ApiCallSpec, BlueprintDoc
from backend.engine.functions import REGISTRY
from backend.engine.walker import Advance, Finish, OrderView, Plan, Retry, Sleep, Step, take_step
from backend.orders.executor import Executor
from backend.orders.outbound import HttpCaller, OutboundPolicy

ROOT = Path(__file__).resolve().parents[2] / "blueprints"
# the examples the engine runs today; FLOW_BLUEPRINTS need the flow-control runtime
# (for_each, parallel, join) and are checked as files only (tests/demo/test_multi_item_example.py)
BLUEPRINTS = ("returns-approved", "order-state-manager", "return-line-label")
FLOW_BLUEPRINTS = ("returns-multi-item",)
EXAMPLES = BLUEPRINTS + FLOW_BLUEPRINTS
KEY = {"Idempotency-Key": "order-1:node"}


@pytest.fixture
def demo_app() -> FastAPI:
    return create_demo_app()


@pytest.fixture
async def client(demo_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=demo_app)
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


async def test_line_labels_are_per_line_and_deterministic(client):
    line = {"ticket_id": 228477, "country": "us", "sku": "TEE-M", "qty": 2, "line": 0}
    first = await client.post("/labels", json=line)
    assert first.status_code == 201
    label = first.json()
    assert label | {"tracking_number": None, "label_url": None, "idempotency_key": None} == {
        "id": "lbl_us_228477_0", "ticket_id": "228477", "country": "US", "sku": "TEE-M",
        "qty": 2, "line": 0, "carrier": "USPS", "service": "Ground Advantage",
        "tracking_number": None, "label_url": None, "idempotency_key": None}
    assert label["tracking_number"].startswith("9400") and len(label["tracking_number"]) == 22
    again = (await client.post("/labels", json=line)).json()
    other = (await client.post("/labels", json=line | {"sku": "MUG-01", "line": 1})).json()
    canadian = (await client.post("/labels", json=line | {"country": "CA"})).json()
    assert again["tracking_number"] == label["tracking_number"] != other["tracking_number"]
    assert canadian["carrier"] == "Canada Post" and len(canadian["tracking_number"]) == 16
    assert (await client.get(label["label_url"])).json()["sku"] == "TEE-M"
    no_index = (await client.post("/labels", json=line | {"line": None})).json()
    assert no_index["id"] == "lbl_us_228477_TEE-M" and no_index["line"] is None


@pytest.mark.parametrize("change", [{"country": "MX"}, {"qty": 0}, {"sku": ""}, {"line": -1}])
async def test_bad_line_labels_are_rejected(client, change):
    line = {"ticket_id": "1", "country": "US", "sku": "A", "qty": 1} | change
    response = await client.post("/labels", json=line)
    assert response.status_code == 422 and response.json()["error"] == "invalid request"
    assert (await client.post("/labels", json={"ticket_id": "1", "country": "US"})).status_code == 422


LINES = [{"sku": "TEE-M", "qty": 2, "price": 5000}, {"sku": "MUG-01", "qty": 1, "price": 1200},
         {"sku": "CAP-02", "qty": 1, "price": 1800}]


async def test_lines_are_refunded_at_once(client):
    body = {"ticket_id": 228477, "lines": LINES, "total": 8000}
    first = await client.post("/refunds/lines", json=body, headers=KEY)
    assert first.status_code == 201
    assert first.json() == {
        "id": "re_228477_lines_1", "ticket_id": "228477", "order_id": None, "lines": LINES,
        "total": 8000, "currency": "USD", "reason": None, "amount": 8000, "line_count": 3,
        "full": False, "status": "succeeded", "idempotency_key": KEY["Idempotency-Key"]}
    replay = await client.post("/refunds/lines", json=body, headers=KEY)
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    second = await client.post("/refunds/lines", json=body | {"currency": "CAD"})
    assert second.json()["id"] == "re_228477_lines_2"
    await client.post("/refunds", json={"order_id": "1001"})
    listed = (await client.get("/refunds")).json()["data"]
    assert [refund["id"] for refund in listed] == ["re_228477_lines_1", "re_228477_lines_2",
                                                    "re_1001_1"]


async def test_a_lines_refund_must_add_up(client):
    wrong = await client.post("/refunds/lines", json={"ticket_id": "1", "lines": LINES,
                                                      "total": 100})
    assert wrong.status_code == 422
    assert wrong.json() == {"error": "total 100 is not the sum of the line prices (8000)"}
    for body in ({"ticket_id": "1", "lines": [], "total": 0},
                 {"ticket_id": "1", "lines": [{"sku": "A", "qty": 1}], "total": 0},
                 {"ticket_id": "1", "lines": LINES}):
        assert (await client.post("/refunds/lines", json=body)).status_code == 422
    assert (await client.get("/refunds")).json()["data"] == []


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
    assert (await fault_params(delay_ms=10**9)).delay_ms == MAX_DELAY_MS


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
              ("POST", "/labels", ticket | {"country": "CA", "sku": "A", "qty": 1}),
              ("POST", "/refunds/lines", ticket | {"lines": LINES, "total": 8000}),
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


@pytest.mark.parametrize("name", EXAMPLES)
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
    used = {node.api_call for name in EXAMPLES for node in load_blueprint(name).nodes}
    files = {path.stem for path in (ROOT / "api_calls").glob("*.json")}
    assert files == used - {None}
    for name in files:
        spec = load_api_call(name)
        assert spec.mock is not None and spec.mock.body
        for source in template_sources([spec.url, spec.headers, spec.query, spec.body]):
            assert parse_error(source, template=True) is None, (name, source)


@pytest.mark.parametrize("name", EXAMPLES)
def test_blueprint_expressions_parse(name):
    for node in load_blueprint(name).nodes:
        sources = [*node.args.values(), *node.save.values(), *node.input.values(),
                   node.expression, node.result, node.items]
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


# --- the example blueprints through the real engine --------------------------------------------
#
# `take_step` with the worker's ports: the Executor, with the API call files, over an HttpCaller
# whose client reaches this test's demo app in process (httpx.ASGITransport). Steps are driven
# as the runner drives them, on a clock the driver moves: retries and the 3-day sleep are free.

DEMO_HOST = "127.0.0.1:8400"  # only a name in URLs: the ASGI transport answers, nothing listens
DEMO_URL = f"http://{DEMO_HOST}"
ORDER_ID = "order-1"


class Clock:
    """The executor's clock: moved by the driver instead of waited on."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Run:
    plan: Plan
    steps: list[Step]
    view: OrderView

    @property
    def path(self) -> list[str]:
        """The nodes visited, in order (a retried or resumed node once)."""
        return list(dict.fromkeys(step.node for step in self.steps))

    @property
    def finish(self) -> Finish:
        outcome = self.steps[-1].outcome
        assert isinstance(outcome, Finish), outcome
        return outcome

    @property
    def api_nodes(self) -> list[str]:
        return [node for node in self.path if self.plan.nodes[node].type == "api_call"]

    def at(self, node_id: str) -> list[Step]:
        return [step for step in self.steps if step.node == node_id]


@pytest.fixture
async def caller(demo_app: FastAPI) -> AsyncIterator[HttpCaller]:
    """The worker's outbound caller, its client talking to this test's demo app."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_app))
    async with HttpCaller(http, OutboundPolicy([DEMO_HOST]), max_response_bytes=1_000_000) as real:
        yield real


def api_calls(faults: dict[str, dict[str, str]]) -> dict[str, ApiCallSpec]:
    """The API call files, with the demo's failure-injection flags added to some queries."""
    specs = read_api_calls(ROOT)
    for spec_id, flags in faults.items():
        specs[spec_id] = specs[spec_id].model_copy(update={"query": specs[spec_id].query | flags})
    return specs


async def run_blueprint(caller: HttpCaller, name: str, inputs: dict | None = None, *,
                        mock: bool = False, faults: dict[str, dict[str, str]] | None = None,
                        order_id: str = ORDER_ID) -> Run:
    """Walk one order of an example blueprint to its end, moving the order as the runner does."""
    plan = Plan.from_definition(json.loads((ROOT / f"{name}.json").read_text()))
    view = OrderView(order_id=order_id, blueprint=plan.doc.id, version=1,
                     input=plan.doc.sample_input if inputs is None else inputs, vars={},
                     node=plan.start, variables={"demo_url": DEMO_URL})
    clock = Clock()
    ports = Executor(caller, api_calls(faults or {}), {}, mock=mock, clock=clock)
    steps: list[Step] = []
    while len(steps) < 100:
        step = await take_step(plan, view, ports)
        steps.append(step)
        view.vars = view.vars | step.saved
        match step.outcome:
            case Advance(node=target):
                view.node, view.attempt, view.wake_at = target, 1, None
                if step.status == "failed":
                    view.error = step.error
            case Retry(delay_s=delay):
                view.attempt += 1
                clock.now += timedelta(seconds=delay)
            case Sleep(until=until):
                view.wake_at = clock.now = until
            case _:
                return Run(plan, steps, view)
    raise AssertionError(f"{name} did not finish: {[step.node for step in steps]}")


RETURNS_PATH = ["start", "generate_response", "is_us", "us_label", "create_return",
                "record_workflow", "wants_cancel", "cancel_subscription", "wait_for_item",
                "instant_refund", "update_match", "refund_order", "comment_ticket", "refunded"]
RETURNS_PATHS = ["/responses", "/labels/us", "/returns", "/returns/ret_228476",
                 "/subscriptions/cancel", "/returns/ret_228476", "/refunds",
                 "/tickets/228476/comments"]
STATE_MANAGER_PATH = ["start", "create_order", "get_items", "first_item", "process_order"]


async def test_returns_blueprint_runs_against_the_demo(client, caller):
    run = await run_blueprint(caller, "returns-approved")
    assert (run.finish.status, run.finish.result) == ("completed", "return_and_refund_processed")
    assert run.path == RETURNS_PATH
    assert [step.status for step in run.at("wait_for_item")] == ["sleeping", "completed"]
    logged = await calls(client)
    assert [call["path"] for call in logged] == RETURNS_PATHS
    assert {call["status"] for call in logged} <= {200, 201}
    assert [call["idempotency_key"] for call in logged] == [f"{ORDER_ID}:{node}"
                                                            for node in run.api_nodes]
    ret = (await client.get("/returns/ret_228476")).json()
    assert ret["workflow_id"] == ORDER_ID and ret["matched"] is True
    saved = run.view.vars
    assert saved == {"response_text": saved["response_text"], "tracking_number": ret["tracking_number"],
                     "carrier": "USPS", "return_id": "ret_228476", "refund_id": "re_1001_1"}
    assert "#228476" in saved["response_text"] and "return is approved" in saved["response_text"]
    comment = (await client.get("/tickets/228476/comments")).json()["data"][0]["body"]
    assert "re_1001_1" in comment and ret["tracking_number"] in comment


async def test_returns_blueprint_without_refund_or_cancel(client, caller):
    inputs = {"ticket_id": 7, "country": "CA", "order_id": 8, "condition": "B", "match": True}
    run = await run_blueprint(caller, "returns-approved", inputs)
    assert (run.finish.status, run.finish.result) == ("completed", "return_processed")
    assert "ca_label" in run.path and "cancel_subscription" not in run.path
    assert run.path[-1] == "returned" and run.view.vars["carrier"] == "Canada Post"
    assert [call["path"] for call in await calls(client)] == [
        "/responses", "/labels/ca", "/returns", "/returns/ret_7"]


@pytest.mark.parametrize("name", BLUEPRINTS)
async def test_blueprints_run_on_mocks(client, caller, name):
    run = await run_blueprint(caller, name, mock=True)
    assert run.finish.status == "completed" and await calls(client) == []
    assert all(run.at(node)[0].request["mocked"] for node in run.api_nodes)


async def test_state_manager_runs_against_the_demo(client, caller):
    run = await run_blueprint(caller, "order-state-manager")
    items = (await client.get("/orders/ord_SO-1001/items")).json()["items"]
    assert run.path == [*STATE_MANAGER_PATH, "processed"]
    assert run.finish.status == "completed"
    assert run.finish.result == {"order_id": "ord_SO-1001", "sku": items[0]["sku"],
                                 "status": "processed"}
    assert run.view.vars["line_items"] == items and run.view.vars["item"] == items[0]


@pytest.mark.parametrize(("status", "attempts"), [(503, 5), (400, 1)])
async def test_state_manager_failed_edge_records_the_failure(client, caller, status, attempts):
    """A transient status is retried up to the API call's max_attempts, a permanent one is
    not; then the failed edge records the walker's error on the order."""
    faults = {"process-order": {"fail": "always", "fail_status": str(status)}}
    run = await run_blueprint(caller, "order-state-manager", faults=faults)
    assert (run.finish.status, run.finish.result) == ("failed", "process_failed")
    assert run.path == [*STATE_MANAGER_PATH, "record_failure", "process_failed"]
    tries = run.at("process_order")
    assert [step.status for step in tries] == ["retrying"] * (attempts - 1) + ["failed"]
    error = tries[-1].error
    assert error is not None and error == run.view.error == run.finish.error
    assert {key: value for key, value in error.items() if key != "details"} == {
        "code": "http_status", "message": f"HTTP {status}", "transient": status == 503,
        "node": "process_order", "attempt": attempts}
    assert error["details"]["request"]["url"] == f"{DEMO_URL}/orders/ord_SO-1001/process"
    assert error["details"]["request"]["query"] == faults["process-order"]
    assert error["details"]["response"]["status"] == status
    assert error["details"]["response"]["body"] == {"error": f"injected failure {attempts} (always)"}
    order = (await client.get("/orders/ord_SO-1001")).json()
    assert order["status"] == "failed"
    assert order["failures"] == [{"reason": "processing failed", "step": "process_order",
                                  "error": error}]
    tried = await calls(client, path="/orders/ord_SO-1001/process")
    assert [call["status"] for call in tried] == [status] * attempts
    assert {call["idempotency_key"] for call in tried} == {f"{ORDER_ID}:process_order"}


async def test_retries_reuse_the_key_so_a_lost_response_is_replayed(client, caller):
    faults = {"create-return": {"fail": "2"}, "refund-order": {"fail": "1", "fail_mode": "after"}}
    run = await run_blueprint(caller, "returns-approved", faults=faults)
    assert run.path == RETURNS_PATH and run.finish.result == "return_and_refund_processed"
    assert [step.status for step in run.at("create_return")] == ["retrying", "retrying", "completed"]
    assert [step.status for step in run.at("refund_order")] == ["retrying", "completed"]
    assert run.at("refund_order")[-1].response["headers"]["idempotent-replayed"] == "true"
    refunds = (await client.get("/refunds")).json()["data"]
    assert [refund["id"] for refund in refunds] == [run.view.vars["refund_id"]] == ["re_1001_1"]
    assert [call["status"] for call in await calls(client, path="/refunds", method="POST")] == [
        500, 201]


async def test_a_failure_without_a_failed_edge_fails_the_order(client, caller):
    faults = {"generate-response": {"fail": "always", "fail_status": "422"}}
    run = await run_blueprint(caller, "returns-approved", faults=faults)
    assert run.path == ["start", "generate_response"]
    error = run.at("generate_response")[-1].error
    assert run.finish == Finish("failed", None, error)
    assert error is not None and (error["code"], error["transient"], error["attempt"]) == (
        "http_status", False, 1)
    assert [call["path"] for call in await calls(client)] == ["/responses"]


async def test_return_line_label_runs_against_the_demo(client, caller):
    run = await run_blueprint(caller, "return-line-label")
    label = (await calls(client))[0]
    assert (label["path"], label["idempotency_key"]) == ("/labels", f"{ORDER_ID}:label")
    assert label["body"] == {"ticket_id": "228476", "country": "US", "sku": "TEE-M", "qty": 2,
                             "line": 0}
    tracking = run.view.vars["tracking_number"]
    assert run.path == ["start", "label", "done"] and tracking.startswith("9400")
    assert run.finish == Finish("completed", {
        "line": 0, "sku": "TEE-M", "qty": 2, "carrier": "USPS", "tracking_number": tracking,
        "label_url": f"{DEMO_URL}/labels/{tracking}"})
    alone = await run_blueprint(caller, "return-line-label", {"ticket_id": 5, "country": "CA",
                                                              "sku": "CAP-02", "qty": 1},
                                order_id="order-2")
    assert alone.finish.result["line"] is None and alone.finish.result["carrier"] == "Canada Post"


def for_each_inputs(plan: Plan, node_id: str, view: OrderView) -> list[dict[str, Any]]:
    """A for_each node's child inputs, evaluated as the design says (`item`, `index` in scope)."""
    node = plan.nodes[node_id]
    items = evaluate(node.items or "", view.scope())
    return [{key: evaluate(source, view.scope() | {"item": item, "index": index})
             for key, source in node.input.items()} for index, item in enumerate(items)]


async def test_multi_item_return_node_by_node(client, caller):
    """Until the flow-control runtime walks returns-multi-item whole (the skipped end-to-end
    test in test_multi_item_example.py): each line through the child blueprint as the child
    order `{parent}.each_line.{index}`, then each branch's node and the end, on the real
    engine against the demo."""
    plan = Plan.from_definition(json.loads((ROOT / "returns-multi-item.json").read_text()))
    view = OrderView(order_id=ORDER_ID, blueprint=plan.doc.id, version=1,
                     input=plan.doc.sample_input, vars={}, node="each_line",
                     variables={"demo_url": DEMO_URL})
    each = plan.nodes["each_line"]
    children = [await run_blueprint(caller, each.blueprint, child_input,
                                    order_id=f"{ORDER_ID}.each_line.{index}")
                for index, child_input in enumerate(for_each_inputs(plan, "each_line", view))]
    results = [child.finish.result for child in children]
    view.vars = {name: evaluate(source, view.scope() | {"results": results, "errors": []})
                 for name, source in each.save.items()}
    tracking = [label["tracking_number"] for label in view.vars["labels"]]
    assert len(set(tracking)) == 3
    ports = Executor(caller, api_calls({}), {}, mock=False, clock=Clock())
    saved: dict[str, Any] = {}
    for branch in plan.branches("fan"):
        step = await take_step(plan, replace(view, node=branch), ports)
        assert (step.status, step.outcome) == ("completed", Advance("meet")), step.error
        saved |= step.saved
    assert saved == {"refund_id": "re_228477_lines_1", "refunded": 8000,
                     "comment_id": "cmt_228477_1"}
    logged = await calls(client)
    assert [(call["path"], call["idempotency_key"], call["status"]) for call in logged] == [
        *[("/labels", f"{ORDER_ID}.each_line.{index}:label", 201) for index in range(3)],
        ("/refunds/lines", f"{ORDER_ID}:refund_lines", 201),
        ("/tickets/228477/comments", f"{ORDER_ID}:comment_labels", 201)]
    assert logged[3]["body"] == {"ticket_id": "228477", "lines": plan.doc.sample_input["lines"],
                                 "total": 8000, "currency": "USD", "reason": "multi-item return"}
    comment = (await client.get("/tickets/228477/comments")).json()["data"][0]["body"]
    assert "(3 in all)" in comment and ", ".join(tracking) in comment
    view.vars |= saved
    end = await take_step(plan, replace(view, node="done"), ports)
    assert end.outcome == Finish("completed", {"labels": results, **saved})


def test_blueprint_files_are_canonical():
    for name in EXAMPLES:
        text = (ROOT / f"{name}.json").read_text()
        assert json.loads(text) == load_blueprint(name).canonical(), name


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_blueprints_pass_the_validator(name):
    from backend.blueprints.graph import Catalog, validate

    catalog = Catalog(read_api_calls(ROOT), frozenset(REGISTRY))
    assert validate(read_blueprint(ROOT / f"{name}.json"), catalog) == []
