"""Schemathesis against the running app's own `/openapi.json`: no input it can generate from
the schema (valid, invalid, edge cases) gets a 5xx.

Bounded for the suite (FUZZ_EXAMPLES per operation, a fixed seed, one worker); `make fuzz`
runs longer, with a random seed and two workers, so that writes race as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from backend.core.embedded_redis import free_port
from tests.system.test_processes import _stop

BIN = Path(sys.executable).parent


def test_no_generated_request_gets_a_server_error(tmp_path: Path) -> None:
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'fuzz.db'}", "REDIS_URL": "",
           "ADMIN_TOKEN": "", "LOAD_EXAMPLES": "true"}
    web = subprocess.Popen([str(BIN / "waybill"), "web", "--port", str(port)], env=env,
                           cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        seed = os.environ.get("FUZZ_SEED", "20261201")
        command = [str(BIN / "schemathesis"), "run", f"{base}/openapi.json",
                   "--checks", "not_a_server_error", "--phases", "coverage,fuzzing",
                   "--max-examples", os.environ.get("FUZZ_EXAMPLES", "12"),
                   "--workers", os.environ.get("FUZZ_WORKERS", "1"),
                   "--wait-for-schema", "30", "--warnings", "off", "--no-color",
                   *([] if seed == "random" else ["--seed", seed])]
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                             env=dict(os.environ, SCHEMATHESIS_HOOKS=""))
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        assert httpx.get(f"{base}/healthz").status_code == 200
    finally:
        _stop(web)
