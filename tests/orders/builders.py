"""Builders for blueprints and API calls (plain dicts, as the API takes them) and views of
an order's step runs."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
FAST_RETRY = {"max_attempts": 4, "initial_s": 0.01, "backoff": 1, "max_s": 0.01}


def node(node_id: str, node_type: str, **fields: Any) -> Json:
    return {"id": node_id, "type": node_type, **fields}


def edge(source: str, target: str, kind: str = "next") -> Json:
    return {"source": source, "target": target, "kind": kind}


def chain(*ids: str) -> list[Json]:
    return [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]


def linear(blueprint_id: str, *middle: Json, result: str | None = None, **fields: Any) -> Json:
    """start -> middle... -> end."""
    end = node("end", "end", **({"result": result} if result else {}))
    ids = ["start", *(item["id"] for item in middle), "end"]
    return {"id": blueprint_id, "name": blueprint_id, "nodes": [node("start", "start"),
            *middle, end], "edges": chain(*ids), **fields}


def demo_call(api_call_id: str, path: str, method: str = "POST", **fields: Any) -> Json:
    """An API call to the demo services (`path` may carry failure-injection flags)."""
    body = fields.pop("body", {"ticket_id": "{{ order.id }}", "message": "hello"})
    return {"id": api_call_id, "name": api_call_id, "method": method,
            "url": "{{ variables.demo_url }}" + path,
            "body": body if method != "GET" else None, "retry": fields.pop("retry", FAST_RETRY),
            **fields}


def step_runs(order: Json) -> list[tuple[str, int, str]]:
    return [(step["node"], step["attempt"], step["status"]) for step in order["steps"]]


def nodes(order: Json) -> list[str]:
    return [step["node"] for step in order["steps"]]
