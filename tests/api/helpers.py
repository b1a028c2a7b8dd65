"""Shared steps for API tests: seeding through the API, error shape, read-back snapshots."""

from __future__ import annotations

from typing import Any

import httpx

from tests.blueprints.factories import API_CALLS, api_call, call, linear

SECRET = "sk_live_SUPER-SECRET-6f1d2a"


def assert_error(response: httpx.Response, status: int, type_: str | None = None) -> dict:
    """An error answer: the status, and a body of exactly `type`, `detail`, `errors`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "detail", "errors"}
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    if type_ is not None:
        assert body["type"] == type_
    return body


async def expect(request: Any, status: int = 200) -> Any:
    """Await a request, check its status, return its JSON."""
    response = await request
    assert response.status_code == status, response.text
    return response.json()


async def add_api_calls(client: httpx.AsyncClient, *ids: str) -> None:
    for api_call_id in ids or tuple(API_CALLS):
        await expect(client.post("/api/api-calls", json=API_CALLS[api_call_id]), 201)


def valid_blueprint(blueprint_id: str = "bp", **fields: Any) -> dict:
    return linear(call("fetch", "plain", save={"item": "response.body.id"}),
                  blueprint_id=blueprint_id, **fields)


async def seed(client: httpx.AsyncClient) -> None:
    """One of everything: an API call with a credential, a published blueprint with a
    changed draft, a variable."""
    await expect(client.post("/api/credentials", json={
        "id": "cred", "name": "Shop token", "type": "bearer", "token": SECRET}), 201)
    await add_api_calls(client)
    await expect(client.post("/api/api-calls", json=api_call("authed", credential="cred")), 201)
    await expect(client.post("/api/blueprints", json=valid_blueprint(description="one")), 201)
    await expect(client.post("/api/blueprints/bp/publish"), 201)
    await expect(client.put("/api/blueprints/bp", json=valid_blueprint(description="two")))
    await expect(client.put("/api/variables/base", json={"value": {"url": "https://x"}}))


async def snapshot(client: httpx.AsyncClient) -> dict[str, Any]:
    """Everything the API shows, to compare before and after a refused request."""
    state: dict[str, Any] = {}
    for path in ("/api/blueprints", "/api/api-calls", "/api/credentials", "/api/variables"):
        state[path] = await expect(client.get(path))
    for summary in state["/api/blueprints"]["data"]:
        base = f"/api/blueprints/{summary['id']}"
        state[base] = await expect(client.get(base))
        state[f"{base}/export"] = (await client.get(f"{base}/export")).text
        versions = await expect(client.get(f"{base}/versions"))
        state[f"{base}/versions"] = versions
        for version in versions["data"]:
            path = f"{base}/versions/{version['version']}"
            state[path] = await expect(client.get(path))
    for kind in ("api-calls", "credentials"):
        for item in state[f"/api/{kind}"]["data"]:
            path = f"/api/{kind}/{item['id']}"
            state[path] = await expect(client.get(path))
    return state
