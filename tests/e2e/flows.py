"""Orders for the browser tests, made through the API of the running `waybill dev`: small
blueprints of their own (so tests never share orders), API calls against the demo services
whose failures a variable switches on and off, and waiting for orders to reach a state."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

FINAL = {"completed", "failed", "cancelled"}


def chain(blueprint_id: str, *steps: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """start → steps… → done, laid out left to right."""
    nodes = [{"id": "start", "type": "start"}, *steps,
             {"id": "done", "type": "end", "status": "completed", "result": "'done'"}]
    ids = [node["id"] for node in nodes]
    return {"id": blueprint_id, "name": name or blueprint_id, "nodes": nodes,
            "edges": [{"source": a, "target": b} for a, b in zip(ids, ids[1:], strict=False)],
            "layout": {node_id: {"x": 260 * i, "y": 0} for i, node_id in enumerate(ids)}}


def sleep_step(duration: str = "1h") -> dict[str, Any]:
    return {"id": "wait", "type": "sleep", "duration": duration}


def call_step(api_call: str, **extra: Any) -> dict[str, Any]:
    return {"id": "call", "type": "api_call", "api_call": api_call, **extra}


def signal_step(signal: str = "approved") -> dict[str, Any]:
    return {"id": "approval", "type": "wait_signal", "signal": signal,
            "save": {"approved_by": "signal.by"}}


def refunds_call(call_id: str, fail_variable: str, attempts: int = 1) -> dict[str, Any]:
    """GET the demo's refunds; `?fail=` comes from a variable, so a test can make the call
    fail (`always`), fail once per order (`1`), or succeed (`0`)."""
    return {"id": call_id, "name": f"Refunds ({call_id})", "method": "GET",
            "url": "{{ variables.demo_url }}/refunds?fail={{ variables." + fail_variable + " }}",
            "retry": {"max_attempts": attempts, "initial_s": 0.05, "backoff": 1, "max_s": 0.1},
            "mock": {"status": 200, "body": {"data": [], "mocked": True}}}


async def put_variable(http: httpx.AsyncClient, name: str, value: Any) -> None:
    answer = await http.put(f"/api/variables/{name}", json={"value": value})
    assert answer.status_code == 200, answer.text


async def put_api_call(http: httpx.AsyncClient, spec: dict[str, Any]) -> None:
    answer = await http.put(f"/api/api-calls/{spec['id']}", json=spec)
    if answer.status_code == 404:
        answer = await http.post("/api/api-calls", json=spec)
    assert answer.status_code in (200, 201), answer.text


async def publish(http: httpx.AsyncClient, doc: dict[str, Any]) -> None:
    """Create (or replace the draft of) a blueprint and publish it."""
    answer = await http.put(f"/api/blueprints/{doc['id']}", json=doc)
    if answer.status_code == 404:
        answer = await http.post("/api/blueprints", json=doc)
    assert answer.status_code in (200, 201), answer.text
    answer = await http.post(f"/api/blueprints/{doc['id']}/publish")
    assert answer.status_code == 201, answer.text


async def create_orders(http: httpx.AsyncClient, blueprint: str, order_ids: list[str],
                        payload: dict[str, Any] | None = None) -> None:
    for order_id in order_ids:
        answer = await http.post("/api/orders", json={"order_id": order_id, "blueprint": blueprint,
                                                      "input": payload or {}})
        assert answer.status_code == 201, answer.text


async def wait_for(http: httpx.AsyncClient, order_ids: list[str], states: set[str],
                   timeout: float = 20) -> dict[str, dict[str, Any]]:
    """Poll until every order is in one of `states`; their JSON."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = {order_id: (await http.get(f"/api/orders/{order_id}")).json()
                 for order_id in order_ids}
        if all(order["state"] in states for order in found.values()):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError({k: (v["state"], v.get("error")) for k, v in found.items()})
        await asyncio.sleep(0.1)
