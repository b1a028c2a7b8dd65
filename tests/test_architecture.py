"""The architecture, checked: `backend.engine` is pure. The import-linter contract in
`pyproject.toml` (`[tool.importlinter]`) forbids it the database, the settings, the app's
other packages and the web, ORM, migration and queue libraries, directly or through any
chain of imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
