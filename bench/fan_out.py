"""Fan-out throughput: one order with N lines through a `for_each`, against N orders of the
same child blueprint sent one by one, in the same run.

    .venv/bin/python bench/fan_out.py [--items 1000] [--concurrency 20]

Both arrive as users send them: `POST /api/orders` on a real `waybill web` (the independent
orders from as many concurrent senders as the fan-out's concurrency), run by a real
`waybill worker` (arq, Redis, SQLite or DATABASE_URL). The child blueprint makes one API call
to the local mock API. Figures: child orders finished per second (first step started to the
last step finished), and the CPU the web and worker processes spent per child order (from
/proc, user + system), for the fan-out and for the baseline of independent orders.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core import embedded_redis  # noqa: E402
from bench.engine import ROOT, WAYBILL, _wait_port, start  # noqa: E402

console = Console()
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def child_doc() -> dict[str, Any]:
    return {"id": "line", "name": "One line",
            "input_schema": {"type": "object", "required": ["value"]},
            "nodes": [{"id": "start", "type": "start"},
                      {"id": "call", "type": "api_call", "api_call": "bench-step",
                       "args": {"value": "input.value"}, "save": {"id": "response.body.id"}},
                      {"id": "end", "type": "end", "result": "vars.id"}],
            "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "end"}]}


def parent_doc(concurrency: int) -> dict[str, Any]:
    return {"id": "fan", "name": "Fan-out",
            "nodes": [{"id": "start", "type": "start"},
                      {"id": "each", "type": "for_each", "items": "input.lines",
                       "blueprint": "line", "input": {"value": "item"},
                       "concurrency": concurrency, "save": {"ids": "results"}},
                      {"id": "end", "type": "end", "result": "vars.ids | length"}],
            "edges": [{"source": "start", "target": "each"}, {"source": "each", "target": "end"}]}


async def setup(client: httpx.AsyncClient, mock_url: str, concurrency: int) -> None:
    answers = [
        await client.put("/api/variables/mock_url", json={"value": mock_url}),
        await client.post("/api/api-calls", json={
            "id": "bench-step", "name": "step", "method": "POST",
            "url": "{{ variables.mock_url }}/step/1", "body": {"value": "{{ args.value }}"},
            "success_status": [200]}),
    ]
    for doc in (child_doc(), parent_doc(concurrency)):
        answers.append(await client.post("/api/blueprints", json=doc))
        answers.append(await client.post(f"/api/blueprints/{doc['id']}/publish"))
    for answer in answers:
        assert answer.status_code < 300, answer.text


async def completed(client: httpx.AsyncClient, blueprint: str) -> int:
    done, cursor = 0, None
    while True:
        params = {"blueprint": blueprint, "limit": 200, "state": "completed",
                  **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/orders", params=params)).json()
        done += len(page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            return done


async def run(client: httpx.AsyncClient, pids: list[int], send: Any, count: int) -> dict[str, float]:
    """Send the work, wait until `count` more child-blueprint orders completed; the rate and
    the web + worker CPU per order."""
    already = await completed(client, "line")
    before = [cpu_s(pid) for pid in pids]
    started = time.monotonic()
    await send()
    deadline = started + 900
    while await completed(client, "line") < already + count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not all {count} orders finished")
        await asyncio.sleep(0.5)
    elapsed = time.monotonic() - started
    spent = sum(cpu_s(pid) - was for pid, was in zip(pids, before, strict=True))
    return {"rate": count / elapsed, "cpu_ms": 1000 * spent / count}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    options = parser.parse_args()
    n, c = options.items, options.concurrency
    with tempfile.TemporaryDirectory(prefix="waybill-fan-") as folder:
        redis_process, redis_url = embedded_redis.start(Path(folder) / "redis")
        mock_port, web_port = embedded_redis.free_port(), embedded_redis.free_port()
        mock = start([sys.executable, str(ROOT / "bench" / "mock_api.py"), str(mock_port)],
                     dict(os.environ))
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY="bench",
                   LOAD_EXAMPLES="false", DATA_DIR=folder, ADMIN_TOKEN="", DEMO_SERVICES="false",
                   OUTBOUND_ALLOW=f"127.0.0.1:{mock_port}", CONCURRENCY=str(c))
        web = start([*WAYBILL, "web", "--port", str(web_port)], env)
        worker = None
        try:
            await _wait_port(mock_port)
            await _wait_port(web_port)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web_port}",
                                         timeout=60) as client:
                await setup(client, f"http://127.0.0.1:{mock_port}", c)
                worker = start([*WAYBILL, "worker"], env)
                pids = [web.pid, worker.pid]

                async def independent() -> None:
                    gate = asyncio.Semaphore(c)  # as many senders as the fan-out's concurrency

                    async def one(index: int) -> None:
                        async with gate:
                            answer = await client.post("/api/orders", json={
                                "order_id": f"solo-{index}", "blueprint": "line",
                                "input": {"value": index}})
                        assert answer.status_code == 201, answer.text

                    await asyncio.gather(*(one(index) for index in range(n)))

                async def fanned() -> None:
                    answer = await client.post("/api/orders", json={
                        "order_id": "fan-1", "blueprint": "fan",
                        "input": {"lines": list(range(n))}})
                    assert answer.status_code == 201, answer.text

                baseline = await run(client, pids, independent, n)
                fan = await run(client, pids, fanned, n)
                parent = (await client.get("/api/orders/fan-1")).json()
                assert parent["state"] == "completed" and parent["result"] == n, parent["state"]
        finally:
            for process in (worker, web, mock):
                if process is not None:
                    process.send_signal(signal.SIGINT)
                    process.wait()
            redis_process.terminate()

    table = Table("measure", "child orders/s", "CPU per child order", "vs independent")
    table.add_row(f"{n} independent orders ({c} senders, POST /api/orders each)", f"{baseline['rate']:,.0f}",
                  f"{baseline['cpu_ms']:.1f} ms", "1.00")
    table.add_row(f"one order, for_each over {n} items (concurrency {c})", f"{fan['rate']:,.0f}",
                  f"{fan['cpu_ms']:.1f} ms", f"{fan['rate'] / baseline['rate']:.2f}")
    console.print(f"[bold]fan-out of {n} items[/bold] (database: {database_url.split(':')[0]})")
    console.print(table)


if __name__ == "__main__":
    asyncio.run(main())
