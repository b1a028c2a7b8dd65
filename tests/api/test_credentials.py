"""/api/credentials: secrets are write-only, never in any answer, and encrypted at rest."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlmodel import select

from backend.credentials.crypto import SecretBox
from backend.credentials.models import Credential
from tests.api.helpers import assert_error, expect, snapshot
from tests.blueprints.factories import api_call, call, linear

SECRETS = {
    "bearer": "BEARER-tok-7c1f9e",
    "basic": "BASIC-pw-51aa0b",
    "header": "HEADER-val-93d2e4",
    "query": "QUERY-key-0f6b77",
    "hmac": "HMAC-shared-secret-4e8c21",
}
ROTATED = {kind: secret.replace("-", "_ROTATED_") for kind, secret in SECRETS.items()}


def body(kind: str, secret: str) -> dict:
    base = {"id": f"{kind}-cred", "name": f"{kind} credential", "type": kind}
    return base | {
        "bearer": {"token": secret},
        "basic": {"username": "shop-user", "password": secret},
        "header": {"header": "X-Api-Key", "value": secret},
        "query": {"param": "api_key", "value": secret},
        "hmac": {"secret": secret},
    }[kind]


def assert_no_secret(response: httpx.Response, secrets: list[str]) -> None:
    """Neither the plain secret nor its base64 (basic auth) is in the body or headers."""
    text = response.text + repr(response.headers.multi_items())
    for secret in secrets:
        encoded = base64.b64encode(f"shop-user:{secret}".encode()).decode()
        assert secret not in text and encoded not in text, response.request.url


async def test_create_answers_only_meta(client: httpx.AsyncClient) -> None:
    expected_meta = {"bearer": {}, "basic": {"username": "shop-user"},
                     "header": {"header": "X-Api-Key"}, "query": {"param": "api_key"},
                     "hmac": {}}
    for kind, secret in SECRETS.items():
        response = await client.post("/api/credentials", json=body(kind, secret))
        assert response.status_code == 201
        assert_no_secret(response, [secret])
        made = response.json()
        assert set(made) == {"id", "name", "type", "meta", "created_at", "updated_at"}
        assert (made["id"], made["type"], made["meta"]) == (f"{kind}-cred", kind,
                                                            expected_meta[kind])


async def test_secrets_appear_in_no_answer(client: httpx.AsyncClient) -> None:
    every = [*SECRETS.values(), *ROTATED.values()]
    for kind, secret in SECRETS.items():
        assert_no_secret(await client.post("/api/credentials", json=body(kind, secret)), every)
    for kind in ("bearer", "header", "query"):
        await expect(client.post("/api/api-calls",
                                 json=api_call(f"{kind}-call", credential=f"{kind}-cred")), 201)
    await expect(client.post("/api/blueprints", json=linear(call("c", "bearer-call"))), 201)
    await expect(client.post("/api/blueprints/bp/publish"), 201)
    for kind, secret in ROTATED.items():
        response = await client.put(f"/api/credentials/{kind}-cred", json=body(kind, secret))
        assert response.status_code == 200
        assert_no_secret(response, every)

    responses = [await client.get("/openapi.json"), await client.get("/api/functions"),
                 await client.get("/api/blueprints/bp/export")]
    for path in await snapshot(client):
        if path.startswith("/api"):
            responses.append(await client.get(path))
    assert len(responses) == 19
    for response in responses:
        assert response.status_code == 200, response.request.url
        assert_no_secret(response, every)


async def test_refusals_do_not_echo_secrets(client: httpx.AsyncClient) -> None:
    secret = SECRETS["hmac"]
    await expect(client.post("/api/credentials", json=body("hmac", secret)), 201)
    refused = [
        await client.post("/api/credentials", json=body("hmac", secret)),
        await client.put("/api/credentials/other", json=body("hmac", secret)),
        await client.put("/api/credentials/ghost", json=body("hmac", secret) | {"id": "ghost"}),
        await client.post("/api/credentials", json=body("hmac", "short-" + "S3")),
        await client.post("/api/credentials", json=body("bearer", secret) | {"extra": secret}),
        await client.post("/api/credentials", json=body("basic", secret) | {"username": 5}),
        await client.post("/api/credentials", json={"token": secret}),
    ]
    assert [r.status_code for r in refused] == [409, 422, 404, 422, 422, 422, 422]
    for response in refused:
        assert_error(response, response.status_code)
        assert_no_secret(response, [secret, "short-S3"])


async def test_the_column_holds_ciphertext(client: httpx.AsyncClient, sessions) -> None:
    fields = {"bearer": "token", "basic": "password", "header": "value", "query": "value",
              "hmac": "secret"}
    for kind, secret in SECRETS.items():
        await expect(client.post("/api/credentials", json=body(kind, secret)), 201)
    async with sessions() as session:
        rows = {row.type: row for row in await session.exec(select(Credential))}
    assert set(rows) == set(SECRETS)
    for kind, secret in SECRETS.items():
        row = rows[kind]
        assert secret not in row.secret and secret not in repr(row.meta)
        assert SecretBox("test-secret-key").open(row.secret) == {fields[kind]: secret}
        with pytest.raises(ValueError, match="SECRET_KEY"):
            SecretBox("another-key").open(row.secret)


async def test_rotation_replaces_the_sealed_secret(client: httpx.AsyncClient, sessions) -> None:
    made = await expect(client.post("/api/credentials", json=body("bearer", "old-token")), 201)
    as_basic = body("basic", "new-password") | {"id": "bearer-cred", "name": "now basic"}
    replaced = await expect(client.put("/api/credentials/bearer-cred", json=as_basic))
    assert (replaced["type"], replaced["name"], replaced["meta"]) == (
        "basic", "now basic", {"username": "shop-user"})
    assert replaced["created_at"] == made["created_at"]
    async with sessions() as session:
        row = await session.get(Credential, "bearer-cred")
    assert SecretBox("test-secret-key").open(row.secret) == {"password": "new-password"}


async def test_list_and_get(client: httpx.AsyncClient) -> None:
    for kind in ("query", "bearer"):
        await expect(client.post("/api/credentials", json=body(kind, SECRETS[kind])), 201)
    listed = await expect(client.get("/api/credentials"))
    assert [item["id"] for item in listed["data"]] == ["bearer-cred", "query-cred"]
    one = await expect(client.get("/api/credentials/query-cred"))
    assert one == listed["data"][1]
    assert_error(await client.get("/api/credentials/nope"), 404, "not_found")
    assert (await client.delete("/api/credentials/query-cred")).status_code == 204
    assert_error(await client.delete("/api/credentials/query-cred"), 404, "not_found")
