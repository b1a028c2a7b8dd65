"""Editor benchmark: a 300-node blueprint in headless Chromium.

Starts `waybill web` on a free port with a temporary SQLite database, stores a generated
300-step blueprint, then opens the editor several times and prints:

- time to first render: navigation start until the canvas has drawn every step and that frame
  is painted (page response, bundle parse, graph build, drawing), with its parts: the page's
  response, DOMContentLoaded, the editor's boot (building the graph) and boot until painted;
  the baseline, measured in the same run, is the first render of a one-step blueprint (what
  the page, the bundles and the panels cost whatever the size of the flow);
- auto-layout: the dagre computation plus applying the positions, and until the next frame;
- one validation round trip and one save round trip of the whole draft;
- completion: the panel of the last function step open (its scope fetched for the draft of
  300 steps), `vars.` typed into an argument's code field, from the `.` keystroke (its
  keydown event) until the completion list is in the page, and until the next frame.

Run: `.venv/bin/python bench/editor.py [--nodes 300] [--runs 3]`. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
BLUEPRINT_ID = "bench-300"
BASELINE_ID = "bench-1"


def generated_blueprint(count: int) -> dict[str, Any]:
    """A long main line of functions and sleeps; every tenth step a condition whose false
    branch ends the order. All positions given (a plain grid), so the first render does no
    layout work of its own."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    edges: list[dict[str, Any]] = []
    previous = "start"
    while len(nodes) < count - 1:
        index = len(nodes)
        if index % 10 == 0:
            check, stop = f"check_{index}", f"stop_{index}"
            nodes += [{"id": check, "type": "condition", "expression": f"input.n > {index}"},
                      {"id": stop, "type": "end", "status": "failed", "result": "'too small'"}]
            edges += [{"source": previous, "target": check},
                      {"source": check, "target": stop, "kind": "false"}]
            previous, kind = check, "true"
        else:
            step = f"step_{index}"
            nodes.append({"id": step, "type": "function", "function": "first",
                          "args": {"items": "[input.n]"}, "save": {f"v{index}": "result"}}
                         if index % 3 else {"id": step, "type": "sleep", "duration": "1s"})
            edges.append({"source": previous, "target": step,
                          **({"kind": kind} if previous.startswith("check_") else {})})
            previous, kind = step, "next"
    nodes.append({"id": "done", "type": "end", "status": "completed"})
    edges.append({"source": previous, "target": "done",
                  **({"kind": "true"} if previous.startswith("check_") else {})})
    layout = {node["id"]: {"x": (i % 20) * 240, "y": (i // 20) * 120}
              for i, node in enumerate(nodes)}
    return {"id": BLUEPRINT_ID, "name": f"Benchmark ({len(nodes)} steps)",
            "nodes": nodes, "edges": edges, "layout": layout}


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
               LOAD_EXAMPLES="false", REDIS_URL="", ADMIN_TOKEN="", DATA_DIR=str(folder))
    waybill = Path(sys.executable).parent / "waybill"
    process = subprocess.Popen([str(waybill), "web", "--port", str(port)], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("waybill web did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure_open(page: Page, url: str, blueprint: str = BLUEPRINT_ID) -> dict[str, float]:
    await page.goto(f"{url}/blueprints/{blueprint}")
    await page.wait_for_selector("#editor[data-ready=true]", timeout=60_000)
    figures: dict[str, float] = await page.evaluate("""() => new Promise((resolve) =>
        requestAnimationFrame(() => resolve({
            first_render_ms: window.waybillEditor.drawnAt,
            page_response_ms: performance.getEntriesByType('navigation')[0].responseEnd,
            dom_ready_ms: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
            editor_boot_ms: window.waybillEditor.bootMs,
            boot_to_painted_ms: window.waybillEditor.renderedMs,
            nodes: window.waybillEditor.graph.getNodes().length,
            node_views: document.querySelectorAll('#canvas .x6-node').length,
        }))
    )""")
    return figures


async def measure_layout(page: Page) -> dict[str, float]:
    figures: dict[str, float] = await page.evaluate("""() => new Promise((resolve) => {
        const started = performance.now();
        const layoutMs = window.waybillEditor.autoLayout();
        requestAnimationFrame(() => resolve({
            layout_ms: layoutMs, layout_to_frame_ms: performance.now() - started }));
    })""")
    return figures


async def measure_round_trips(page: Page) -> dict[str, float]:
    figures: dict[str, float] = await page.evaluate("""async () => {
        const editor = window.waybillEditor;
        let started = performance.now();
        await editor.validate();
        const validate = performance.now() - started;
        started = performance.now();
        await editor.save();
        return { validate_ms: validate, save_ms: performance.now() - started };
    }""")
    return figures


COMPLETION_TRIES = 10


def last_function(doc: dict[str, Any]) -> str:
    return next(node["id"] for node in reversed(doc["nodes"]) if node["type"] == "function")


async def measure_completion(page: Page, node_id: str) -> dict[str, list[float]]:
    """Open the step's panel, then type `.` after `vars` several times, timing the list."""
    await page.evaluate("""(id) => { performance.clearResourceTimings();
        const e = window.waybillEditor; e.graph.resetSelection(e.findNode(id)); }""", node_id)
    source = f'#panel form[data-cell="n:{node_id}"] .pair:has(.pair-key[value=items]) .pair-value'
    field = page.locator(source).locator("xpath=following-sibling::div[1]").locator(".cm-content")
    await field.wait_for()
    scope_ms: float = await page.evaluate("""() => new Promise((resolve) => {
        const done = () => {
            const found = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/scope'));
            if (found.length >= 2) resolve(Math.max(...found.map((e) => e.responseEnd)) - found[0].startTime);
            else setTimeout(done, 20);
        };
        done();
    })""")
    await field.click()
    await page.keyboard.press("End")
    await page.keyboard.type(" ~ vars")
    await page.wait_for_timeout(1000)
    figures: dict[str, list[float]] = {"scope_fetch_ms": [scope_ms]}
    for _ in range(COMPLETION_TRIES):
        await page.evaluate("""() => { window.benchCompletion = new Promise((resolve) => {
            let pressed = null;
            document.addEventListener('keydown', (event) => { pressed = event.timeStamp; },
                                      { once: true, capture: true });
            const seen = new MutationObserver(() => {
                if (pressed === null || !document.querySelector('.cm-tooltip-autocomplete li')) return;
                seen.disconnect();
                const listed = performance.now() - pressed;
                requestAnimationFrame(() => resolve({ listed, framed: performance.now() - pressed }));
            });
            seen.observe(document.body, { childList: true, subtree: true });
        }); }""")
        await page.keyboard.press(".")
        result = await page.evaluate("window.benchCompletion")
        figures.setdefault("completion_list_ms", []).append(result["listed"])
        figures.setdefault("completion_frame_ms", []).append(result["framed"])
        await page.keyboard.press("Escape")
        await page.keyboard.press("Backspace")
        await page.wait_for_timeout(1000)  # the panel's debounced apply and validation settle
    return figures


async def run(count: int, runs: int) -> None:
    subprocess.run(["npm", "run", "build", "--silent"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as folder:
        process, url = start_server(Path(folder))
        try:
            doc = generated_blueprint(count)
            answer = httpx.post(f"{url}/api/blueprints", json=doc, timeout=60)
            answer.raise_for_status()
            print(f"blueprint: {len(doc['nodes'])} nodes, {len(doc['edges'])} edges, "
                  f"{len(answer.json()['errors'])} validation errors")
            httpx.post(f"{url}/api/blueprints", timeout=60, json={
                "id": BASELINE_ID, "name": "Baseline", "nodes": [{"id": "start", "type": "start"}],
                "edges": [], "layout": {"start": {"x": 0, "y": 0}}}).raise_for_status()
            samples: dict[str, list[float]] = {}
            completion: dict[str, list[float]] = {}
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
                for _ in range(runs):
                    # each page in a context of its own: a cold cache, as on a first visit
                    page = await browser.new_page(viewport={"width": 1440, "height": 900})
                    baseline = await measure_open(page, url, BASELINE_ID)
                    samples.setdefault("baseline_1_step_ms", []).append(baseline["first_render_ms"])
                    await page.close()
                    page = await browser.new_page(viewport={"width": 1440, "height": 900})
                    for result in (await measure_open(page, url), await measure_layout(page),
                                   await measure_round_trips(page)):
                        for key, value in result.items():
                            samples.setdefault(key, []).append(value)
                    typed = await measure_completion(page, last_function(doc))
                    for key, values in typed.items():
                        completion.setdefault(key, []).extend(values)
                    await page.close()
                await browser.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"{'figure':<24}{'median':>10}{'min':>10}{'max':>10}   ({runs} runs, headless Chromium)")
    for key, values in samples.items():
        print(f"{key:<24}{statistics.median(values):>10.1f}{min(values):>10.1f}"
              f"{max(values):>10.1f}")
    ratio = statistics.median(samples["first_render_ms"]) / statistics.median(samples["baseline_1_step_ms"])
    print(f"first render of {count} steps = {ratio:.2f}× the one-step baseline")
    print(f"{'completion':<24}{'p50':>10}{'min':>10}{'max':>10}   "
          f"({COMPLETION_TRIES} keystrokes a run; target: under 50 ms)")
    for key, values in completion.items():
        print(f"{key:<24}{statistics.median(values):>10.1f}{min(values):>10.1f}"
              f"{max(values):>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.nodes, args.runs))


if __name__ == "__main__":
    main()
