"""The example blueprints in `blueprints/` import, validate clean and publish."""

from __future__ import annotations

import json

import httpx
import pytest

from backend.blueprints.files import EXAMPLES, import_file, load_examples_once, read_api_calls
from backend.core.config import Settings
from backend.engine.format import BlueprintDoc
from tests.api.helpers import expect

EXAMPLE_IDS = ["returns-approved", "order-state-manager"]


def test_the_examples_exist() -> None:
    assert set(EXAMPLE_IDS) <= {path.stem for path in EXAMPLES.glob("*.json")}
    for example in EXAMPLE_IDS:
        doc = BlueprintDoc.model_validate(json.loads((EXAMPLES / f"{example}.json").read_text()))
        assert doc.id == example
        used = {node.api_call for node in doc.nodes if node.api_call}
        assert used and used <= set(read_api_calls(EXAMPLES))


@pytest.mark.parametrize("example", EXAMPLE_IDS)
async def test_an_imported_example_is_valid(client: httpx.AsyncClient, sessions,
                                            example: str) -> None:
    async with sessions() as session:
        saved = await import_file(session=session, path=EXAMPLES / f"{example}.json")
    assert (saved.id, saved.errors, saved.valid) == (example, [], True)
    shown = await expect(client.get(f"/api/blueprints/{example}"))
    assert (shown["valid"], shown["errors"], shown["latest_version"]) == (True, [], None)
    file_doc = BlueprintDoc.model_validate(json.loads((EXAMPLES / f"{example}.json").read_text()))
    assert shown["draft"] == file_doc.canonical()
    report = await expect(client.post("/api/blueprints/validate", json=shown["draft"]))
    assert report == {"valid": True, "errors": []}
    version = await expect(client.post(f"/api/blueprints/{example}/publish"), 201)
    assert version["version"] == 1


async def test_importing_twice_keeps_one_blueprint_and_its_api_calls(
        client: httpx.AsyncClient, sessions) -> None:
    path = EXAMPLES / "returns-approved.json"
    for _ in range(2):
        async with sessions() as session:
            await import_file(session=session, path=path)
    listed = await expect(client.get("/api/blueprints"))
    assert [item["id"] for item in listed["data"]] == ["returns-approved"]
    used = {node.api_call for node in BlueprintDoc.model_validate(
        json.loads(path.read_text())).nodes if node.api_call}
    calls = await expect(client.get("/api/api-calls"))
    assert {item["id"] for item in calls["data"]} == used


async def test_examples_load_and_publish_once(client: httpx.AsyncClient, sessions,
                                              settings: Settings) -> None:
    for _ in range(2):
        async with sessions() as session:
            await load_examples_once(session=session, settings=settings)
    listed = {item["id"]: item for item in (await expect(client.get("/api/blueprints")))["data"]}
    assert set(listed) == {path.stem for path in EXAMPLES.glob("*.json")} >= set(EXAMPLE_IDS)
    for item in listed.values():
        assert (item["latest_version"], item["valid"], item["draft_changed"]) == (1, True, False)
