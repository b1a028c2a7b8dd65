"""Engine fixtures: the example blueprints imported and published, and order helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from backend.blueprints.files import EXAMPLES, import_file


@pytest.fixture
async def examples(live_app: FastAPI) -> None:
    async with live_app.state.waybill.sessions() as session:
        for name in ("returns-approved", "order-state-manager"):
            await import_file(session=session, path=EXAMPLES / f"{name}.json", publish_it=True)


@pytest.fixture
def create_order(live_client: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def create(order_id: str, blueprint: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = await live_client.post("/api/orders", json={
            "order_id": order_id, "blueprint": blueprint, "input": payload})
        assert response.status_code == 201, response.text
        return response.json()

    return create


@pytest.fixture
def get_order(live_client: httpx.AsyncClient) -> Callable[[str], Awaitable[dict[str, Any]]]:
    async def get(order_id: str) -> dict[str, Any]:
        response = await live_client.get(f"/api/orders/{order_id}")
        assert response.status_code == 200, response.text
        return response.json()

    return get
