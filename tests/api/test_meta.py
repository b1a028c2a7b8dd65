"""/api/functions, /api/expressions/check and /api/variables."""

from __future__ import annotations

import httpx

from backend.engine.functions import REGISTRY
from tests.api.helpers import assert_error, expect


async def test_functions_are_listed(client: httpx.AsyncClient) -> None:
    listed = (await expect(client.get("/api/functions")))["data"]
    assert [item["name"] for item in listed] == sorted(REGISTRY)
    first = next(item for item in listed if item["name"] == "first")
    assert first == {"name": "first", "doc": "First element of a list (None when empty).",
                     "params": ["items"]}


CHECKS = [
    ({"expression": "input.a == vars.b | first"},
     {"ok": True, "error": None, "names": ["input", "vars"]}),
    ({"expression": "now()"}, {"ok": True, "error": None, "names": []}),
    ({"expression": "x | no_such"}, {"ok": False, "error": "Unknown function “no_such” at column 5: "
                                     "expected the name of a registered function",
                                     "names": []}),
    ({"expression": "1 2"}, {"ok": False, "error": "Unexpected “2” at column 3: expected an operator "
                             "(like +, == or and) or the end of the expression",
                             "names": []}),
    ({"expression": "{{ args.id }}/{{ order.id }}", "kind": "template"},
     {"ok": True, "error": None, "names": ["args", "order"]}),
]


async def test_expression_check(client: httpx.AsyncClient) -> None:
    for body, verdict in CHECKS:
        assert await expect(client.post("/api/expressions/check", json=body)) == verdict
    answer = await expect(client.post("/api/expressions/check",
                                      json={"expression": "{% if %}", "kind": "template"}))
    assert answer["ok"] is False and answer["error"]
    response = await client.post("/api/expressions/check", json={"expression": "1" * 20_001})
    assert_error(response, 422, "invalid")


async def test_variables(client: httpx.AsyncClient) -> None:
    values = {"base": "https://shop.example", "ids": [1, 2], "cfg": {"a": None}, "n": 3.5}
    for name, value in values.items():
        made = await expect(client.put(f"/api/variables/{name}", json={"value": value}))
        assert (made["name"], made["value"]) == (name, value)
    listed = (await expect(client.get("/api/variables")))["data"]
    assert [(v["name"], v["value"]) for v in listed] == sorted(values.items())
    replaced = await expect(client.put("/api/variables/n", json={"value": None}))
    assert replaced["value"] is None
    assert (await client.delete("/api/variables/base")).status_code == 204
    assert_error(await client.delete("/api/variables/base"), 404, "not_found")
    names = [v["name"] for v in (await expect(client.get("/api/variables")))["data"]]
    assert names == ["cfg", "ids", "n"]
