"""/api/blueprints: validate, CRUD on drafts, publish and versions, usage conflicts."""

from __future__ import annotations

import json

import httpx

from backend.engine.format import BlueprintDoc
from tests.api.helpers import add_api_calls, assert_error, expect, valid_blueprint
from tests.blueprints.factories import (
    api_call,
    blueprint,
    call,
    chain,
    condition,
    diamond,
    edge,
    end,
    fn,
    linear,
    sleep,
    start,
)


def found(report: dict) -> list[tuple]:
    return sorted(((e["code"], e["node"], tuple(e["edge"]) if e["edge"] else None)
                   for e in report["errors"]), key=repr)


# -- validate ------------------------------------------------------------------------------

VALIDATE_CASES = {
    "cycle": (
        blueprint([start(), sleep("a"), sleep("b"), end()],
                  [*chain("start", "a", "b", "end"), edge("b", "a", "failed")]),
        [("cycle", None, ("b", "a"))],
    ),
    "dangling_edge": (
        blueprint([start(), sleep("a"), end()],
                  [*chain("start", "a", "end"), edge("a", "ghost", "failed")]),
        [("dangling_edge", None, ("a", "ghost"))],
    ),
    "two_starts": (
        blueprint([start(), start("start2"), end()], [edge("start", "end"), edge("start2", "end")]),
        [("multiple_starts", "start2", None)],
    ),
    "unreachable": (
        blueprint([start(), sleep("orphan"), end()], [edge("start", "end"), edge("orphan", "end")]),
        [("unreachable", "orphan", None)],
    ),
    "one_branch": (
        blueprint([start(), condition("if"), end()],
                  [edge("start", "if"), edge("if", "end", "false")]),
        [("condition_branches", "if", None)],
    ),
    "unknown_api_call": (
        linear(call("charge", "no-such-call")),
        [("unknown_api_call", "charge", None)],
    ),
    "var_on_one_branch": (
        diamond(call("t", save={"label": "response.body"}), call("f"),
                fn("join", "first", args={"items": "vars.label"})),
        [("unsaved_var", "join", None)],
    ),
}


async def test_validate_names_the_node_or_edge(client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain")
    for case, (data, expected) in VALIDATE_CASES.items():
        report = await expect(client.post("/api/blueprints/validate", json=data))
        assert report["valid"] is False, case
        assert found(report) == sorted(expected, key=repr), case
        assert all(error["message"] for error in report["errors"]), case


async def test_validate_a_valid_blueprint_writes_nothing(client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain")
    report = await expect(client.post("/api/blueprints/validate", json=valid_blueprint()))
    assert report == {"valid": True, "errors": []}
    assert (await expect(client.get("/api/blueprints")))["data"] == []


async def test_validate_uses_the_saved_api_calls(client: httpx.AsyncClient) -> None:
    data = linear(call("fetch", "by-var"), call("ret", "create-return"))
    before = await expect(client.post("/api/blueprints/validate", json=data))
    assert found(before) == [("unknown_api_call", "fetch", None), ("unknown_api_call", "ret", None)]
    await add_api_calls(client, "by-var", "create-return")
    after = await expect(client.post("/api/blueprints/validate", json=data))
    assert found(after) == [("missing_arg", "ret", None), ("unsaved_var", "fetch", None)]


async def test_validate_reports_duplicate_ids_and_knows_functions(
        client: httpx.AsyncClient) -> None:
    data = blueprint([start(), sleep("a"), sleep("a"), end()], chain("start", "a", "end"))
    report = await expect(client.post("/api/blueprints/validate", json=data))
    assert found(report) == [("duplicate_node_id", "a", None)]
    good = linear(fn("f", "last", args={"items": "input.xs"}))
    bad = linear(fn("f", "penultimate", args={"items": "input.xs"}))
    assert (await expect(client.post("/api/blueprints/validate", json=good)))["valid"] is True
    assert found(await expect(client.post("/api/blueprints/validate", json=bad))) == [
        ("unknown_function", "f", None)]


# -- CRUD ----------------------------------------------------------------------------------


async def test_create_read_list_update_delete(client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain")
    data = valid_blueprint(description="first")
    made = await expect(client.post("/api/blueprints", json=data), 201)
    canonical = BlueprintDoc.model_validate(data).canonical()
    assert made["draft"] == canonical
    assert (made["id"], made["name"], made["description"]) == ("bp", "Blueprint", "first")
    assert (made["valid"], made["errors"], made["latest_version"]) == (True, [], None)
    assert made["draft_changed"] is True and made["order_counts"] == {}

    assert await expect(client.get("/api/blueprints/bp")) == made
    listed = await expect(client.get("/api/blueprints"))
    assert [item["id"] for item in listed["data"]] == ["bp"]
    assert "draft" not in listed["data"][0] and listed["next_cursor"] is None

    changed = valid_blueprint(name="Renamed", description="second")
    updated = await expect(client.put("/api/blueprints/bp", json=changed))
    assert (updated["name"], updated["description"]) == ("Renamed", "second")
    assert (await expect(client.get("/api/blueprints/bp")))["draft"]["description"] == "second"

    assert (await client.delete("/api/blueprints/bp")).status_code == 204
    assert_error(await client.get("/api/blueprints/bp"), 404, "not_found")
    assert (await expect(client.get("/api/blueprints")))["data"] == []


async def test_list_order_and_positions_apart_from_logic(client: httpx.AsyncClient) -> None:
    for blueprint_id, name in (("b1", "Zebra"), ("b2", "Alpha"), ("b3", "Mango")):
        await expect(client.post("/api/blueprints", json=linear(blueprint_id=blueprint_id,
                                                                 name=name)), 201)
    listed = await expect(client.get("/api/blueprints"))
    assert [item["name"] for item in listed["data"]] == ["Alpha", "Mango", "Zebra"]

    data = blueprint([start() | {"position": {"x": 10, "y": 20}}, end()], chain("start", "end"),
                     layout={"end": {"x": 5, "y": 6}})
    made = await expect(client.post("/api/blueprints", json=data), 201)
    assert made["draft"]["nodes"] == [{"id": "start", "type": "start"},
                                      {"id": "end", "type": "end"}]
    assert made["draft"]["layout"] == {"end": {"x": 5.0, "y": 6.0},
                                       "start": {"x": 10.0, "y": 20.0}}


async def test_a_draft_with_errors_is_saved_with_them(client: httpx.AsyncClient) -> None:
    broken = linear(call("c", "no-such-call"))
    made = await expect(client.post("/api/blueprints", json=broken), 201)
    assert (made["valid"], found(made)) == (False, [("unknown_api_call", "c", None)])
    fixed = await expect(client.put("/api/blueprints/bp", json=linear()))
    assert (fixed["valid"], fixed["errors"]) == (True, [])
    again = await expect(client.put("/api/blueprints/bp", json=broken))
    assert again["valid"] is False and found(again) == [("unknown_api_call", "c", None)]
    assert (await expect(client.get("/api/blueprints/bp")))["draft"] == \
        BlueprintDoc.model_validate(broken).canonical()


async def test_get_revalidates_against_the_current_catalog(client: httpx.AsyncClient) -> None:
    made = await expect(client.post("/api/blueprints", json=valid_blueprint()), 201)
    assert found(made) == [("unknown_api_call", "fetch", None)]
    await add_api_calls(client, "plain")
    now = await expect(client.get("/api/blueprints/bp"))
    assert (now["valid"], now["errors"]) == (True, [])


async def test_export_is_the_canonical_draft(client: httpx.AsyncClient) -> None:
    data = valid_blueprint(description="exported")
    await expect(client.post("/api/blueprints", json=data), 201)
    response = await client.get("/api/blueprints/bp/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="bp.json"'
    assert json.loads(response.text) == BlueprintDoc.model_validate(data).canonical()
    assert response.text.endswith("}\n")


async def test_an_input_schema_that_is_not_a_json_schema_is_refused(
        client: httpx.AsyncClient) -> None:
    """Valid JSON but not a valid JSON Schema (`Draft202012Validator.check_schema`): validate
    reports it, create and update refuse it with a 422 naming the spot, nothing is stored."""
    bad_schemas = [({"type": "nope"}, "/type"),
                   ({"type": "object", "properties": {"email": {"type": 5}}},
                    "/properties/email/type"),
                   ({"required": "email"}, "/required")]
    good = {"type": "object", "required": ["email"],
            "properties": {"email": {"type": "string", "format": "email"}}}
    for schema, where in bad_schemas:
        report = await expect(client.post("/api/blueprints/validate",
                                          json=linear(input_schema=schema)))
        assert report["valid"] is False
        assert [(e["code"], e["node"]) for e in report["errors"]] == [("input_schema", None)]
        assert where in report["errors"][0]["message"]
        body = assert_error(await client.post("/api/blueprints", json=linear(input_schema=schema)),
                            422, "invalid")
        assert [e["code"] for e in body["errors"]] == ["input_schema"]
        assert where in body["errors"][0]["message"]
    assert (await expect(client.get("/api/blueprints")))["data"] == []

    made = await expect(client.post("/api/blueprints", json=linear(input_schema=good)), 201)
    assert (made["valid"], made["draft"]["input_schema"]) == (True, good)
    for schema, _ in bad_schemas:
        body = assert_error(await client.put("/api/blueprints/bp", json=linear(input_schema=schema)),
                            422, "invalid")
        assert body["errors"][0]["code"] == "input_schema"
    assert (await expect(client.get("/api/blueprints/bp")))["draft"] == made["draft"]


# -- publish and versions ------------------------------------------------------------------


async def test_a_draft_with_errors_cannot_be_published(client: httpx.AsyncClient) -> None:
    await expect(client.post("/api/blueprints", json=linear()), 201)
    broken = linear(sleep("wait", "soon"))
    saved = await expect(client.put("/api/blueprints/bp", json=broken))
    assert found(saved) == [("bad_duration", "wait", None)]
    body = assert_error(await client.post("/api/blueprints/bp/publish"), 422, "invalid")
    assert [(e["code"], e["node"]) for e in body["errors"]] == [("bad_duration", "wait")]
    assert (await expect(client.get("/api/blueprints/bp/versions")))["data"] == []
    assert (await expect(client.get("/api/blueprints/bp")))["latest_version"] is None


async def test_publish_versions_and_their_immutability(client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain")
    first = valid_blueprint(description="v1")
    await expect(client.post("/api/blueprints", json=first), 201)

    v1 = await expect(client.post("/api/blueprints/bp/publish"), 201)
    assert (v1["blueprint_id"], v1["version"]) == ("bp", 1)
    assert v1["definition"] == BlueprintDoc.model_validate(first).canonical()
    again = await expect(client.post("/api/blueprints/bp/publish"), 201)
    assert again == v1
    state = await expect(client.get("/api/blueprints/bp"))
    assert (state["latest_version"], state["draft_changed"]) == (1, False)

    second = valid_blueprint(description="v2")
    second["nodes"].insert(1, sleep("pause", "5m"))
    second["edges"] = chain("start", "pause", "fetch", "end")
    await expect(client.put("/api/blueprints/bp", json=second))
    assert (await expect(client.get("/api/blueprints/bp")))["draft_changed"] is True
    assert await expect(client.get("/api/blueprints/bp/versions/1")) == v1

    v2 = await expect(client.post("/api/blueprints/bp/publish"), 201)
    assert v2["version"] == 2
    assert v2["definition"] == BlueprintDoc.model_validate(second).canonical()

    listed = await expect(client.get("/api/blueprints/bp/versions"))
    assert [item["version"] for item in listed["data"]] == [2, 1]
    assert set(listed["data"][0]) == {"version", "created_at"}
    assert await expect(client.get("/api/blueprints/bp/versions/1")) == v1
    assert await expect(client.get("/api/blueprints/bp/versions/2")) == v2
    assert_error(await client.get("/api/blueprints/bp/versions/3"), 404, "not_found")

    await expect(client.put("/api/blueprints/bp", json=linear(sleep("x", "bad"))))
    assert_error(await client.post("/api/blueprints/bp/publish"), 422, "invalid")
    assert await expect(client.get("/api/blueprints/bp/versions/1")) == v1
    assert await expect(client.get("/api/blueprints/bp/versions/2")) == v2
    summary = (await expect(client.get("/api/blueprints")))["data"][0]
    assert (summary["latest_version"], summary["draft_changed"], summary["valid"]) == (
        2, True, False)


async def test_deleting_a_blueprint_deletes_its_versions(client: httpx.AsyncClient) -> None:
    await expect(client.post("/api/blueprints", json=linear()), 201)
    await expect(client.post("/api/blueprints/bp/publish"), 201)
    assert (await client.delete("/api/blueprints/bp")).status_code == 204
    assert_error(await client.get("/api/blueprints/bp/versions"), 404)
    assert_error(await client.get("/api/blueprints/bp/versions/1"), 404)
    again = await expect(client.post("/api/blueprints", json=linear()), 201)
    assert again["latest_version"] is None


# -- what refers to what -------------------------------------------------------------------


async def test_an_api_call_used_by_a_draft_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain")
    await expect(client.post("/api/blueprints", json=valid_blueprint()), 201)
    body = assert_error(await client.delete("/api/api-calls/plain"), 409, "conflict")
    assert "bp" in body["detail"]
    await expect(client.get("/api/api-calls/plain"))
    await expect(client.put("/api/blueprints/bp", json=linear()))
    assert (await client.delete("/api/api-calls/plain")).status_code == 204
    assert_error(await client.get("/api/api-calls/plain"), 404)


async def test_an_api_call_used_by_a_version_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    await add_api_calls(client, "plain")
    await expect(client.post("/api/blueprints", json=valid_blueprint()), 201)
    await expect(client.post("/api/blueprints/bp/publish"), 201)
    await expect(client.put("/api/blueprints/bp", json=linear()))
    assert_error(await client.delete("/api/api-calls/plain"), 409, "conflict")
    await expect(client.get("/api/api-calls/plain"))


async def test_a_credential_used_by_an_api_call_cannot_be_deleted(
        client: httpx.AsyncClient) -> None:
    await expect(client.post("/api/credentials", json={
        "id": "tok", "name": "Token", "type": "bearer", "token": "t0k"}), 201)
    await expect(client.post("/api/api-calls", json=api_call("authed", credential="tok")), 201)
    body = assert_error(await client.delete("/api/credentials/tok"), 409, "conflict")
    assert "authed" in body["detail"]
    await expect(client.get("/api/credentials/tok"))
    assert (await client.delete("/api/api-calls/authed")).status_code == 204
    assert (await client.delete("/api/credentials/tok")).status_code == 204
    assert_error(await client.get("/api/credentials/tok"), 404)


async def test_what_a_person_typed_keeps_its_key_order(client: httpx.AsyncClient) -> None:
    """On PostgreSQL too: documents are `json`, which keeps the text as written (not `jsonb`)."""
    await add_api_calls(client, "plain")
    schema = {"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "integer"},
                                               "m": {"type": "boolean"}}}
    made = valid_blueprint(input_schema=schema, sample_input={"z": "last", "a": 1, "m": True})
    made["nodes"][1] |= {"args": {"zeta": "input.z", "alpha": "input.a"},
                         "save": {"young": "response.body.id", "old": "response.status"}}
    await expect(client.post("/api/blueprints", json=made), 201)
    await expect(client.post("/api/blueprints/bp/publish"), 201)
    for url in ("/api/blueprints/bp", "/api/blueprints/bp/versions/1"):
        body = await expect(client.get(url))
        stored = body.get("draft") or body["definition"]
        assert list(stored["input_schema"]["properties"]) == ["z", "a", "m"], url
        assert list(stored["sample_input"]) == ["z", "a", "m"], url
        fetch = next(node for node in stored["nodes"] if node["id"] == "fetch")
        assert (list(fetch["args"]), list(fetch["save"])) == (["zeta", "alpha"], ["young", "old"])
    await expect(client.put("/api/variables/shop", json={"value": {"z": 1, "a": 2}}))
    listed = (await expect(client.get("/api/variables")))["data"]
    assert list(listed[0]["value"]) == ["z", "a"]
