"""Schedules in real `waybill worker` processes: a schedule every 2 seconds runs through two
workers at once, a clean stop, a crash (SIGKILL) and a gap with no worker at all; every tick
from the first to the last has exactly one order, and every order completes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from backend.core.config import Settings
from backend.schedules.service import TICK_FORMAT
from tests.api.helpers import expect
from tests.orders.builders import linear

WAYBILL = str(Path(sys.executable).parent / "waybill")
BP = "every-second"
EVERY_S = 2  # ten missed ticks then cover 20 s: a worker takes seconds to start here
Orders = list[dict[str, Any]]


@pytest.fixture
def worker_env(live_settings: Settings, tmp_path: Path) -> dict[str, str]:
    """A worker's environment: the test's database and Redis; short leases, so that an
    order a killed worker held is taken up again within seconds."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": live_settings.database_url, "REDIS_URL": live_settings.redis_url,
            "SECRET_KEY": "test-secret-key", "LOAD_EXAMPLES": "false", "ADMIN_TOKEN": "",
            "LEASE_S": "2", "SWEEP_INTERVAL_S": "1", "POLL_DELAY_S": "0.5"}


def _start(env: dict[str, str], folder: Path, name: str) -> subprocess.Popen[bytes]:
    with (folder / f"{name}.log").open("wb") as log:
        return subprocess.Popen([WAYBILL, "worker"], env=env, cwd=folder, stdout=log,
                                stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.kill(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _orders(client: httpx.AsyncClient) -> Orders:
    found: Orders = []
    cursor = None
    while True:
        page = await expect(client.get("/api/orders", params={
            "blueprint": BP, "limit": 200, **({"cursor": cursor} if cursor else {})}))
        found += page["data"]
        if not (cursor := page["next_cursor"]):
            return found


def _tick(order_id: str) -> datetime:
    return datetime.strptime(order_id.rsplit(".", 1)[1], TICK_FORMAT).replace(tzinfo=UTC)


async def _until(client: httpx.AsyncClient, done: Callable[[Orders], bool], timeout_s: float,
                 *workers: subprocess.Popen[bytes]) -> Orders:
    deadline = time.monotonic() + timeout_s
    while True:
        orders = await _orders(client)
        if done(orders):
            return orders
        assert all(worker.poll() is None for worker in workers), "a worker exited"
        assert time.monotonic() < deadline, sorted(order["order_id"] for order in orders)
        await asyncio.sleep(0.25)


async def _started(worker: subprocess.Popen[bytes], redis_url: str) -> None:
    """Until the worker has connected to Redis: its imports are done (seconds on this
    machine), its first pass is a moment away."""
    port = urlsplit(redis_url).port
    deadline = time.monotonic() + 40
    while not any(connection.raddr and connection.raddr.port == port
                  for connection in psutil.Process(worker.pid).net_connections(kind="tcp")):
        assert worker.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, "the worker did not start"
        await asyncio.sleep(0.1)


async def test_every_tick_is_one_order_through_restarts(
        live_client: httpx.AsyncClient, live_settings: Settings, worker_env: dict[str, str],
        tmp_path: Path) -> None:
    await expect(live_client.post("/api/blueprints", json=linear(BP, result="input.tick")), 201)
    await expect(live_client.post(f"/api/blueprints/{BP}/publish"), 201)
    await expect(live_client.post(f"/api/blueprints/{BP}/schedules", json={
        "name": "tick", "cron": f"* * * * * */{EVERY_S}",
        "input": {"tick": "{{ schedule.tick }}"}}), 201)

    first, second = (_start(worker_env, tmp_path, name) for name in ("first", "second"))
    try:  # two workers at once
        for worker in (first, second):
            await _started(worker, live_settings.redis_url)
        await _until(live_client, lambda orders: len(orders) >= 2, 30, first, second)
        await asyncio.sleep(EVERY_S)
        _stop(first)  # a clean stop
        await asyncio.sleep(EVERY_S / 2)
    finally:
        _stop(first)
        _stop(second, signal.SIGKILL)  # a crash
    stopped = datetime.now(UTC)
    await asyncio.sleep(EVERY_S)  # a tick at least finds no worker (start-up adds more here)

    third = _start(worker_env, tmp_path, "third")
    try:
        await _started(third, live_settings.redis_url)
        started = datetime.now(UTC)
        orders = await _until(live_client, lambda orders: (
            max(_tick(order["order_id"]) for order in orders) > started
            and all(order["state"] == "completed" for order in orders)), 30, third)
    finally:
        _stop(third)

    ticks = sorted(_tick(order["order_id"]) for order in orders)
    step = timedelta(seconds=EVERY_S)
    assert ticks == [ticks[0] + n * step for n in range(len(ticks))]  # each once, none missed
    assert ticks[0] < stopped - step and stopped + step < started < ticks[-1]
    last = await expect(live_client.get(f"/api/orders/{BP}.tick.{ticks[-1]:{TICK_FORMAT}}"))
    assert last["result"] == last["input"]["tick"] == ticks[-1].isoformat()
    schedule = await expect(live_client.get(f"/api/blueprints/{BP}/schedules/tick"))
    assert schedule["last_error"] is None
