"""The node-type catalogue is the one source of the connection rules: the validator applies
it, and the API serves it (the editor builds its palette and ports from what is served)."""

from __future__ import annotations

import pytest

from backend.engine import catalogue
from backend.engine.catalogue import NODE_TYPES
from tests.blueprints.factories import blueprint, edge, end, sleep, start
from tests.blueprints.test_graph import problems

SLEEP_THAT_MAY_FAIL = blueprint([start(), sleep("nap"), end(), end("oops")], [
    edge("start", "nap"), edge("nap", "end"), edge("nap", "oops", "failed")])


def test_the_validator_applies_the_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(SLEEP_THAT_MAY_FAIL) == []
    monkeypatch.setattr(NODE_TYPES["sleep"], "out", ["next"])
    assert problems(SLEEP_THAT_MAY_FAIL) == [("bad_edge_kind", None, ("nap", "oops"))]


def test_every_type_and_kind_is_described() -> None:
    served = catalogue.catalogue_json()
    types = [spec["type"] for spec in served["node_types"]]
    assert sorted(types) == sorted(NODE_TYPES)
    kinds = {spec["kind"] for spec in served["edge_kinds"]}
    for spec in served["node_types"]:
        assert set(spec["out"]) <= kinds and set(spec["required_out"]) <= set(spec["out"])
        assert spec["title"] and spec["icon"] and spec["color"].startswith("#")


async def test_the_api_serves_the_catalogue(client) -> None:
    response = await client.get("/api/node-types")
    assert response.status_code == 200
    assert response.json() == catalogue.catalogue_json()
