"""Waybill as it is deployed: `waybill web`, `waybill worker` and Redis as separate processes.

- `waybill dev` starts its worker only once the web process (and the demo services it
  mounts) answer, so the first orders after a restart do not fail on a refused connection.
- A worker killed with SIGKILL in the middle of 100 orders loses none: once a new worker
  runs, every order completes, and each API step interrupted by the crash is sent again at
  most once, with the same idempotency key.
- The same in the middle of a fan-out: every item done by one child order, and only what
  was in flight sent once more; a 2,000-item fan-out keeps the worker under 200 MB. These
  two run on PostgreSQL too (with TEST_DATABASE_URL).
- Scale-out, on PostgreSQL: three workers share one Redis and one database; 2,000 orders
  sent as webhooks each complete once, every API step is sent once, no order's steps ever
  overlap (no two workers held it at once), and every worker took a share.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest
from redis.asyncio import Redis

from backend.core.config import normalise_database_url
from backend.core.embedded_redis import free_port
from tests.conftest import _empty_postgres
from tests.orders.builders import demo_call, linear, node

WAYBILL = str(Path(sys.executable).parent / "waybill")
ORDERS = 100
RECOVERY_S = 60  # with the default LEASE_S (30) and SWEEP_INTERVAL_S (10)


def _children(pid: int) -> list[str]:
    """Command lines of the live child processes of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_dev_starts_the_worker_only_once_the_web_process_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}", "REDIS_URL": "", "ADMIN_TOKEN": ""}
    dev = subprocess.Popen([WAYBILL, "dev", "--port", str(port)], env=env, cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(" worker" in command for command in _children(dev.pid)):
            assert dev.poll() is None and time.monotonic() < deadline, "no worker started"
            time.sleep(0.005)
        # the worker exists: the web app and the demo services must already answer
        for path in ("/healthz", "/demo/refunds"):
            assert httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200
    finally:
        _stop(dev)


@pytest.fixture
async def process_env(redis_url: str, tmp_path: Path,
                      request: pytest.FixtureRequest) -> AsyncIterator[tuple[dict, int]]:
    """The settings' defaults, but for where things are. SQLite, unless the test asks for
    `backend_name` (the fan-out tests: on PostgreSQL too, when TEST_DATABASE_URL is set); the
    other tests are not about the database, and a run of them takes most of a minute."""
    port = free_port()
    database = f"sqlite:///{tmp_path / 'waybill.db'}"
    if "backend_name" in request.fixturenames and request.getfixturevalue(
            "backend_name") == "postgresql":
        database = os.environ["TEST_DATABASE_URL"]
        await _empty_postgres(normalise_database_url(database))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data"),
           "DATABASE_URL": database, "REDIS_URL": redis_url,
           "SECRET_KEY": "test-secret-key", "LOAD_EXAMPLES": "false", "ADMIN_TOKEN": "",
           "DEMO_SERVICES": "true", "DEMO_URL": f"http://127.0.0.1:{port}/demo",
           "OUTBOUND_ALLOW": f"127.0.0.1:{port}"}
    yield env, port


@pytest.fixture
async def web(process_env, redis_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    env, port = process_env
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    process = subprocess.Popen([WAYBILL, "web", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        try:
            for _ in range(600):
                assert process.poll() is None, "waybill web exited"
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            yield client
        finally:
            _stop(process)


def start_worker(process_env, tmp_path: Path) -> subprocess.Popen[bytes]:
    env, _ = process_env
    return subprocess.Popen([WAYBILL, "worker"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _cpu_s(process: subprocess.Popen[bytes]) -> float:
    times = psutil.Process(process.pid).cpu_times()
    return times.user + times.system


async def _states(web: httpx.AsyncClient, blueprint: str = "kill-bp") -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    cursor = None
    while True:
        page = (await web.get("/api/orders", params={"limit": 200, "blueprint": blueprint,
                                                     **({"cursor": cursor} if cursor else {})})).json()
        counts.update(order["state"] for order in page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            return counts


async def test_a_worker_killed_mid_run_loses_no_order(web, process_env, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        spec = demo_call(name, "/responses?delay_ms=60")
        assert (await web.post("/api/api-calls", json=spec)).status_code == 201
    blueprint = linear("kill-bp", *(node(name, "api_call", api_call=name) for name in "abc"))
    assert (await web.post("/api/blueprints", json=blueprint)).status_code == 201
    assert (await web.post("/api/blueprints/kill-bp/publish")).status_code == 201
    await web.delete("/demo/calls")
    for n in range(ORDERS):
        created = await web.post("/api/orders", json={"order_id": f"k-{n}", "blueprint": "kill-bp",
                                                      "input": {}})
        assert created.status_code == 201, created.text

    worker = start_worker(process_env, tmp_path)
    try:
        for _ in range(1500):  # kill it in the middle: a third of the calls made
            assert worker.poll() is None, "the worker exited"
            if len((await web.get("/demo/calls")).json()["data"]) >= ORDERS:
                break
            await asyncio.sleep(0.02)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    before = await _states(web)
    assert before["completed"] < ORDERS, before

    started = time.monotonic()
    recovering = start_worker(process_env, tmp_path)
    try:
        while (await _states(web))["completed"] < ORDERS:
            assert time.monotonic() - started < RECOVERY_S, await _states(web)
            assert recovering.poll() is None, "the recovering worker exited"
            await asyncio.sleep(0.2)
    finally:
        _stop(recovering)

    keys = collections.Counter(call["idempotency_key"]
                               for call in (await web.get("/demo/calls")).json()["data"])
    assert set(keys) == {f"k-{n}:{name}" for n in range(ORDERS) for name in "abc"}
    repeated = {key: count for key, count in keys.items() if count > 1}
    assert all(count == 2 for count in repeated.values()), repeated  # once more per crash
    assert len(repeated) <= 20, repeated  # at most what was in flight (CONCURRENCY, 20)
    for n in (0, ORDERS // 2, ORDERS - 1):
        order = (await web.get(f"/api/orders/k-{n}")).json()
        assert [(step["node"], step["status"]) for step in order["steps"]] == [
            (name, "completed") for name in ("start", "a", "b", "c", "end")]


def _fan_out_docs(items_concurrency: int, child: dict) -> list[dict]:
    parent = {"id": "fan-bp", "name": "fan-bp", "nodes": [
        node("start", "start"),
        node("each", "for_each", items="input.lines", blueprint="fan-line",
             input={"sku": "item.sku"}, concurrency=items_concurrency,
             save={"labels": "results"}),
        node("end", "end", result="vars.labels | length")],
        "edges": [{"source": "start", "target": "each"}, {"source": "each", "target": "end"}]}
    return [child, parent]


async def _publish(web: httpx.AsyncClient, *docs: dict) -> None:
    for doc in docs:
        created = await web.post("/api/blueprints", json=doc)
        assert created.status_code == 201 and created.json()["valid"], created.text
        assert (await web.post(f"/api/blueprints/{doc['id']}/publish")).status_code == 201


async def _finished(web: httpx.AsyncClient, order_id: str, limit_s: float,
                    worker: subprocess.Popen[bytes], watch=None) -> dict:
    started = time.monotonic()
    while True:
        order = (await web.get(f"/api/orders/{order_id}")).json()
        if order["state"] in ("completed", "failed"):
            return order
        assert time.monotonic() - started < limit_s, order["state"]
        assert worker.poll() is None, "the worker exited"
        if watch is not None:
            watch()
        await asyncio.sleep(0.2)


async def test_a_worker_killed_mid_fan_out_loses_no_item_and_starts_none_twice(
        backend_name: str, web, process_env, tmp_path: Path) -> None:
    items, concurrency = 60, 10
    spec = demo_call("fan-call", "/responses?delay_ms=60",
                     body={"ticket_id": "{{ order.id }}", "message": "{{ args.sku }}"})
    assert (await web.post("/api/api-calls", json=spec)).status_code == 201
    child = linear("fan-line", node("call", "api_call", api_call="fan-call",
                                    args={"sku": "input.sku"}), result="input.sku",
                   input_schema={"type": "object", "required": ["sku"]})
    await _publish(web, *_fan_out_docs(concurrency, child))
    await web.delete("/demo/calls")
    lines = [{"sku": f"s{n}"} for n in range(items)]
    created = await web.post("/api/orders", json={"order_id": "fan", "blueprint": "fan-bp",
                                                  "input": {"lines": lines}})
    assert created.status_code == 201, created.text

    worker = start_worker(process_env, tmp_path)
    try:
        for _ in range(1500):  # kill it in the middle of the fan-out
            assert worker.poll() is None, "the worker exited"
            if len((await web.get("/demo/calls")).json()["data"]) >= items // 3:
                break
            await asyncio.sleep(0.02)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert (await web.get("/api/orders/fan")).json()["state"] == "waiting"

    recovering = start_worker(process_env, tmp_path)
    try:
        order = await _finished(web, "fan", RECOVERY_S, recovering)
    finally:
        _stop(recovering)
    assert order["state"] == "completed", order["error"]
    assert order["result"] == items
    children = (await web.get("/api/orders", params={"parent": "fan", "limit": 200})).json()
    assert sorted(child["order_id"] for child in children["data"]) == sorted(
        f"fan.each.{n}" for n in range(items))  # one child per item, no more
    keys = collections.Counter(call["idempotency_key"]
                               for call in (await web.get("/demo/calls")).json()["data"])
    assert set(keys) == {f"fan.each.{n}:call" for n in range(items)}  # no item lost
    repeated = {key: count for key, count in keys.items() if count > 1}
    assert all(count == 2 for count in repeated.values()), repeated  # once more per crash
    assert len(repeated) <= concurrency, repeated  # only what was in flight at the kill


def _rss_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


async def test_a_2000_item_fan_out_completes_with_the_worker_under_200_mb(
        backend_name: str, web, process_env, tmp_path: Path) -> None:
    items = 2000
    child = linear("fan-line", result="'label-' ~ input.sku",
                   input_schema={"type": "object", "required": ["sku"]})
    await _publish(web, *_fan_out_docs(50, child))
    lines = [{"sku": f"sku-{n:05d}", "note": "x" * 40} for n in range(items)]
    created = await web.post("/api/orders", json={"order_id": "big", "blueprint": "fan-bp",
                                                  "input": {"lines": lines}})
    assert created.status_code == 201, created.text
    worker = start_worker(process_env, tmp_path)
    try:
        order = await _finished(web, "big", 240, worker)
        peak = _rss_mb(worker.pid)
    finally:
        _stop(worker)
    assert order["state"] == "completed", order["error"]
    assert order["result"] == items
    print(f"2,000-item fan-out: worker peak RSS {peak:.0f} MB")
    assert peak < 200, peak


async def test_three_workers_share_2000_orders_and_run_each_step_once(
        backend_name: str, web, process_env, tmp_path: Path) -> None:
    if backend_name != "postgresql":
        pytest.skip("several workers are a PostgreSQL deployment")
    orders = 2000
    for name in ("a", "b", "c"):
        assert (await web.post("/api/api-calls", json=demo_call(name, "/responses"))).status_code == 201
    blueprint = linear("share-bp", *(node(name, "api_call", api_call=name) for name in "abc"),
                       webhook={"order_id_field": "id"})
    assert (await web.post("/api/blueprints", json=blueprint)).status_code == 201
    assert (await web.post("/api/blueprints/share-bp/publish")).status_code == 201
    await web.delete("/demo/calls")
    workers = [start_worker(process_env, tmp_path) for _ in range(3)]
    try:
        await asyncio.sleep(3)  # started (imports, migrations), waiting for work
        idle = [_cpu_s(worker) for worker in workers]
        limit = asyncio.Semaphore(16)

        async def send(n: int) -> None:
            async with limit:
                answer = await web.post("/webhooks/share-bp", json={"id": f"s-{n}"})
                assert answer.status_code == 202, answer.text

        await asyncio.gather(*(send(n) for n in range(orders)))
        started = time.monotonic()
        while (states := await _states(web, "share-bp"))["completed"] < orders:
            assert time.monotonic() - started < 180, states
            assert all(worker.poll() is None for worker in workers), "a worker exited"
            await asyncio.sleep(0.5)
        busy = [_cpu_s(worker) - before for worker, before in zip(workers, idle, strict=True)]
    finally:
        for worker in workers:
            _stop(worker)

    keys = collections.Counter(call["idempotency_key"]
                               for call in (await web.get("/demo/calls")).json()["data"])
    assert keys == {f"s-{n}:{name}": 1 for n in range(orders) for name in "abc"}
    for n in range(0, orders, 97):  # a sample: each step once, one after the other
        steps = (await web.get(f"/api/orders/s-{n}")).json()["steps"]
        assert [(step["node"], step["attempt"]) for step in steps] == [
            (name, 1) for name in ("start", "a", "b", "c", "end")]
        for before, after in zip(steps, steps[1:], strict=False):
            assert before["finished_at"] <= after["started_at"], (n, before, after)
    assert all(share > sum(busy) / 10 for share in busy), busy  # each took a real share
