"""Browser tests: a real `waybill dev` (web, worker, embedded Redis and the demo services, in
subprocesses, on a temporary SQLite file, the example blueprints loaded) driven by headless
Debian Chromium through Playwright's async API.

The server and the browser are started once per session; every test gets a fresh browser
context (no shared cookies or storage) and fails if the page threw an uncaught error.
Tests that run orders make blueprints and API calls of their own (see `flows.py`), so they
do not depend on each other's orders.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "e2e-admin-token"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_bundle() -> None:
    if not (ROOT / "backend/static/build/editor.js").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"waybill dev exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"waybill dev did not become healthy:\n{log.read_text()[-3000:]}")


@contextmanager
def _running(folder: Path, command: str | list[str], **env: str) -> Iterator[str]:
    """`waybill <command>` (or a command line that ends with the port) on a free port with
    its own SQLite file; its base URL."""
    port = _free_port()
    environ = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'e2e.db'}",
                   LOAD_EXAMPLES="true", REDIS_URL="", ADMIN_TOKEN="",
                   DATA_DIR=str(folder / "data")) | env
    log = folder / "server.log"
    if isinstance(command, str):
        command = [str(Path(sys.executable).parent / "waybill"), command, "--port"]
    with log.open("wb") as out:
        process = subprocess.Popen([*command, str(port)], cwd=folder,
                                   env=environ, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()  # `dev` stops its web, worker and Redis children
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running `waybill dev` with the examples loaded; its demo services
    are at `<url>/demo` (and in `variables.demo_url`)."""
    _ensure_bundle()
    with _running(tmp_path_factory.mktemp("e2e"), "dev") as url:
        yield url


@pytest.fixture
def guarded_server(tmp_path: Path) -> Iterator[str]:
    """A `waybill web` with ADMIN_TOKEN set (people log in; unsafe requests need CSRF)."""
    _ensure_bundle()
    with _running(tmp_path, "web", ADMIN_TOKEN=ADMIN_TOKEN) as url:
        yield url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        await chromium.close()


@asynccontextmanager
async def open_tab(browser: Browser, base_url: str,
                   viewport: dict[str, int] | None = None) -> AsyncIterator[Page]:
    """A fresh browser context on `base_url`; any uncaught error in its pages fails the test."""
    context = await browser.new_context(base_url=base_url,
                                        viewport=viewport or {"width": 1440, "height": 900})
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
async def page(browser: Browser, server: str) -> AsyncIterator[Page]:
    async with open_tab(browser, server) as tab:
        yield tab


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """The JSON API of the running server."""
    async with httpx.AsyncClient(base_url=server, timeout=15) as client:
        yield client
