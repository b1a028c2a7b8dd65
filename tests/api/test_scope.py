"""`POST /api/blueprints/{id}/scope`: the names an expression may use at a step, which the
editor completes from. It offers what validation accepts there and nothing it refuses."""

from __future__ import annotations

import httpx

from tests.api.helpers import add_api_calls, assert_error, expect
from tests.blueprints.factories import (
    api_call,
    blueprint,
    call,
    condition,
    edge,
    end,
    linear,
    start,
)

SCHEMA = {"type": "object", "required": ["ticket_id"], "properties": {
    "ticket_id": {"type": "string", "description": "the support ticket"},
    "country": {"type": "string"}, "reason": {"type": "string"}}}


def returns_doc() -> dict:
    """start → make (saves return_id) → check ⇒ (label saves tracking | skip) → notify → end."""
    nodes = [start(), call("make", "create-return", args={"ticket_id": "input.ticket_id"},
                           save={"return_id": "response.body.id"}),
             condition("check", "input.country == 'US'"),
             call("label", "plain", save={"tracking": "response.body.id"}),
             call("skip", "plain"), call("notify", "plain"), end()]
    edges = [edge("start", "make"), edge("make", "check"), edge("check", "label", "true"),
             edge("check", "skip", "false"), edge("label", "notify"), edge("skip", "notify"),
             edge("notify", "end")]
    return blueprint(nodes, edges, "scoped", input_schema=SCHEMA,
                     sample_input={"ticket_id": "T-1", "country": "US"})


async def scope(client: httpx.AsyncClient, node: str, field: str | None = None,
                **body: object) -> dict:
    return await expect(client.post("/api/blueprints/scoped/scope",
                                    json={"node": node, "field": field, **body}))


def paths(answer: dict, kind: str) -> list[str]:
    return [name["path"] for name in answer["names"] if name["kind"] == kind]


async def test_vars_are_what_every_path_saved_before_the_step(client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain", "create-return")
    await expect(client.post("/api/blueprints", json=returns_doc()), 201)

    assert paths(await scope(client, "make"), "var") == []  # before the step that saves it
    assert paths(await scope(client, "check"), "var") == ["vars.return_id"]
    at_notify = await scope(client, "notify")
    assert paths(at_notify, "var") == ["vars.return_id"]
    assert paths(at_notify, "maybe") == ["vars.tracking"]  # only the true branch saves it
    maybe = next(n for n in at_notify["names"] if n["path"] == "vars.tracking")
    assert "some paths" in maybe["detail"]
    # what it offers validates: a read of vars.return_id at notify is no problem, tracking is
    draft = returns_doc()
    draft["nodes"][5]["save"] = {"both": "vars.return_id ~ vars.tracking"}
    report = await expect(client.post("/api/blueprints/validate", json=draft))
    assert [(p["code"], p["node"]) for p in report["errors"]] == [("unsaved_var", "notify")]
    assert "vars.tracking" in report["errors"][0]["message"]
    assert "return_id" not in report["errors"][0]["message"]


async def test_input_names_come_from_the_schema_with_types_and_samples(
        client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain", "create-return")
    await expect(client.post("/api/blueprints", json=returns_doc()), 201)
    names = {n["path"]: n for n in (await scope(client, "check"))["names"] if n["kind"] == "input"}
    assert list(names) == ["input.ticket_id", "input.country", "input.reason"]
    assert names["input.ticket_id"] == {
        "path": "input.ticket_id", "kind": "input", "type": "string",
        "detail": "the support ticket", "sample": "T-1"}
    assert not [n for n in (await scope(client, "check"))["names"] if n["kind"] == "error"]


async def test_a_save_field_sees_the_response_fields_of_the_mock(client: httpx.AsyncClient) -> None:
    mocked = api_call("carrier", mock={"status": 200, "body": {
        "tracking": "1Z9", "label": {"carrier": "USPS", "url": "https://l/1"}}})
    await expect(client.post("/api/api-calls", json=mocked), 201)
    doc = linear(call("ship", "carrier"), blueprint_id="scoped")
    await expect(client.post("/api/blueprints", json=doc), 201)

    answer = await scope(client, "ship", "save.carrier")
    found = {n["path"]: n.get("sample") for n in answer["names"] if n["kind"] == "response"}
    assert {"response.status", "response.body", "response.body.tracking",
            "response.body.label.carrier"} <= set(found)
    assert found["response.body.label.carrier"] == "USPS"
    assert not paths(await scope(client, "ship", "args.x"), "response")  # args: no response
    assert {f["name"] for f in answer["functions"]} >= {"first"}


async def test_the_edited_draft_is_used_and_unknown_steps_are_404(client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain", "create-return")
    await expect(client.post("/api/blueprints", json=returns_doc()), 201)
    edited = returns_doc()
    edited["nodes"][1]["save"] = {"rma": "response.body.id"}  # not saved yet
    assert paths(await scope(client, "check", draft=edited), "var") == ["vars.rma"]
    assert_error(await client.post("/api/blueprints/scoped/scope", json={"node": "nope"}), 404)
    assert_error(await client.post("/api/blueprints/missing/scope", json={"node": "x"}), 404)
    failed_path = returns_doc()
    failed_path["nodes"].append(end("oops", status="failed"))
    failed_path["edges"].append(edge("make", "oops", "failed"))
    assert paths(await scope(client, "oops", draft=failed_path), "error") == [
        "error.code", "error.message", "error.node"]
