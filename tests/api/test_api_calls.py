"""/api/api-calls: definitions, with every template checked before anything is written."""

from __future__ import annotations

import httpx

from tests.api.helpers import assert_error, expect, snapshot
from tests.blueprints.factories import api_call

FULL = api_call(
    "create-return", "{{ variables.demo_url }}/returns", name="Create return", method="POST",
    headers={"X-Ticket": "{{ args.ticket_id }}"}, query={"shop": "{{ variables.shop }}"},
    body={"ticket_id": "{{ args.ticket_id }}", "reason": "{{ input.reason }}",
          "lines": ["{{ vars.lines }}", 3], "static": True},
    timeout_s=5, success_status=[200, 201], idempotency_key="{{ order.id }}:{{ node.id }}",
    retry={"max_attempts": 4, "initial_s": 0.5, "backoff": 3, "max_s": 20},
    mock={"status": 201, "body": {"id": "ret_123"}},
)


async def test_create_read_list_update_delete(client: httpx.AsyncClient) -> None:
    made = await expect(client.post("/api/api-calls", json=FULL), 201)
    assert {key: made[key] for key in FULL} == FULL | {"timeout_s": 5.0, "retry": {
        "max_attempts": 4, "initial_s": 0.5, "backoff": 3.0, "max_s": 20.0},
        "mock": {"status": 201, "headers": {}, "body": {"id": "ret_123"}}}
    assert made["credential"] is None and made["created_at"] and made["updated_at"]
    assert await expect(client.get("/api/api-calls/create-return")) == made
    assert (await expect(client.get("/api/api-calls")))["data"] == [made]

    changed = FULL | {"name": "Create a return", "method": "PUT"}
    updated = await expect(client.put("/api/api-calls/create-return", json=changed))
    assert (updated["name"], updated["method"]) == ("Create a return", "PUT")
    assert updated["created_at"] == made["created_at"]
    assert await expect(client.get("/api/api-calls/create-return")) == updated

    assert (await client.delete("/api/api-calls/create-return")).status_code == 204
    assert_error(await client.get("/api/api-calls/create-return"), 404, "not_found")


async def test_defaults_and_order(client: httpx.AsyncClient) -> None:
    made = await expect(client.post("/api/api-calls", json=api_call("plain")), 201)
    assert (made["method"], made["headers"], made["query"], made["body"]) == ("GET", {}, {}, None)
    assert made["success_status"] == [200, 201, 202, 204]
    assert made["idempotency_key"] == "{{ order.id }}:{{ node.id }}"
    assert made["retry"] == {"max_attempts": 3, "initial_s": 1.0, "backoff": 2.0, "max_s": 60.0}
    assert (made["timeout_s"], made["mock"]) == (10.0, None)
    for api_call_id in ("zulu", "alpha", "mike"):
        await expect(client.post("/api/api-calls", json=api_call(api_call_id)), 201)
    listed = await expect(client.get("/api/api-calls"))
    assert [item["id"] for item in listed["data"]] == ["alpha", "mike", "plain", "zulu"]


BAD_TEMPLATES = [
    ({"url": "https://x/{{ args.id"}, "url", "bad_template"),
    ({"url": "https://x/{% if args.a %}"}, "url", "bad_template"),
    ({"headers": {"X-A": "{{ args.a | no_such_filter }}"}}, "headers.X-A", "bad_template"),
    ({"query": {"q": "{{ }}"}}, "query.q", "bad_template"),
    ({"body": {"deep": ["ok", {"x": "{{ args.a + }}"}]}}, "body", "bad_template"),
    ({"body": "text {{ args.a "}, "body", "bad_template"),
    ({"idempotency_key": "{{ order.id"}, "idempotency_key", "bad_template"),
    ({"url": "https://x/{{ secret.token }}"}, "url", "unknown_name"),
    ({"headers": {"X-R": "{{ response.body }}"}}, "headers.X-R", "unknown_name"),
    ({"body": {"e": "{{ error.message }}"}}, "body", "unknown_name"),
    ({"query": {"q": "{{ credentials.x }}"}}, "query.q", "unknown_name"),
]


async def test_templates_are_checked_at_save(client: httpx.AsyncClient) -> None:
    for fields, where, code in BAD_TEMPLATES:
        body = assert_error(await client.post("/api/api-calls", json=api_call("c", **fields)),
                            422, "invalid")
        assert [(e["field"], e["code"]) for e in body["errors"]] == [(where, code)], fields
        assert all(e["message"] for e in body["errors"])
    assert (await expect(client.get("/api/api-calls")))["data"] == []


async def test_every_problem_is_reported(client: httpx.AsyncClient) -> None:
    data = api_call("c", "https://x/{{ nope }}", headers={"A": "{{ bad"}, credential="ghost")
    body = assert_error(await client.post("/api/api-calls", json=data), 422, "invalid")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("url", "unknown_name"), ("headers.A", "bad_template"),
        ("credential", "unknown_credential")]
    assert "3 problem(s)" in body["detail"]
    body = assert_error(await client.post("/api/api-calls",
                                          json=api_call("c", credential="ghost")), 422, "invalid")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("credential", "unknown_credential")]
    await expect(client.post("/api/credentials", json={
        "id": "ghost", "name": "now real", "type": "bearer", "token": "abc"}), 201)
    made = await expect(client.post("/api/api-calls", json=api_call("c", credential="ghost")),
                        201)
    assert made["credential"] == "ghost"


async def test_a_refused_update_changes_nothing(client: httpx.AsyncClient) -> None:
    await expect(client.post("/api/api-calls", json=FULL), 201)
    before = await snapshot(client)
    for fields in ({"url": "{{ broken"}, {"url": "{{ who }}"}, {"credential": "ghost"}):
        response = await client.put("/api/api-calls/create-return", json=FULL | fields)
        assert_error(response, 422, "invalid")
    assert await snapshot(client) == before


async def test_all_template_names_are_accepted(client: httpx.AsyncClient) -> None:
    data = api_call("c", "{{ variables.base }}/{{ args.id }}/{{ input.x }}/{{ vars.y }}",
                    headers={"X-Order": "{{ order.id }}-{{ node.id }}"},
                    body="{% for line in args.lines %}{{ line | upper }}{% endfor %}")
    made = await expect(client.post("/api/api-calls", json=data), 201)
    assert made["body"] == data["body"]
