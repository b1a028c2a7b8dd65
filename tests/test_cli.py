"""`waybill blueprints validate|import|export` and the bind guard of `waybill web`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.app.cli import app
from backend.blueprints.files import EXAMPLES
from backend.core.config import get_settings
from backend.engine.format import BlueprintDoc
from tests.blueprints.factories import api_call, blueprint, call, chain, end, linear, sleep, start

EXAMPLE_FILES = [EXAMPLES / "returns-approved.json", EXAMPLES / "order-state-manager.json"]


@pytest.fixture
def waybill(tmp_path: Path) -> Iterator:
    """Run the CLI against a fresh SQLite file; returns (exit code, stdout, stderr)."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "ADMIN_TOKEN": "",
           "REDIS_URL": "", "COLUMNS": "500", "DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str, str]:
        get_settings.cache_clear()
        result = runner.invoke(app, list(args), env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    yield run
    get_settings.cache_clear()


def write(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_examples_validate_clean(waybill) -> None:
    code, _, err = waybill("blueprints", "validate", *map(str, EXAMPLE_FILES))
    assert code == 0, err
    for path in EXAMPLE_FILES:
        assert f"{path}: valid" in flat(err)
    assert "problem" not in err


def test_a_broken_file_fails_and_names_the_problem(waybill, tmp_path: Path) -> None:
    data = blueprint([start(), sleep("a"), sleep("b"), end()],
                     [*chain("start", "a", "b", "end"), {"source": "b", "target": "a",
                                                         "kind": "failed"}])
    path = write(tmp_path, "broken.json", data)
    code, _, err = waybill("blueprints", "validate", str(path), str(EXAMPLE_FILES[0]))
    assert code == 1
    assert f"{path}: 1 problem(s)" in flat(err)
    assert "cycle at ('b', 'a')" in flat(err)
    assert f"{EXAMPLE_FILES[0]}: valid" in flat(err)


def test_validate_uses_the_api_calls_beside_the_file(waybill, tmp_path: Path) -> None:
    path = write(tmp_path, "bp.json", linear(call("c", "beside", args={"id": "input.id"})))
    code, _, err = waybill("blueprints", "validate", str(path))
    assert code == 1 and "unknown_api_call at c" in flat(err)
    write(tmp_path, "api_calls/beside.json", api_call("beside", "https://x/{{ args.id }}"))
    code, _, err = waybill("blueprints", "validate", str(path))
    assert code == 0, err


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "cannot read JSON"),
    (json.dumps({"id": "x"}), "not a blueprint"),
    (json.dumps({"id": "x", "name": "x", "nodes": [{"id": "a"}]}), "not a blueprint"),
])
def test_an_unreadable_file_fails(waybill, tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, "bad.json", content)
    code, _, err = waybill("blueprints", "validate", str(path))
    assert code == 1
    assert message in flat(err) and f"{path}: " in flat(err)


def test_a_missing_file_fails(waybill, tmp_path: Path) -> None:
    code, _, err = waybill("blueprints", "validate", str(tmp_path / "absent.json"))
    assert code == 1 and "cannot read JSON" in flat(err)


def test_a_broken_api_call_file_is_reported(waybill, tmp_path: Path) -> None:
    path = write(tmp_path, "bp.json", linear(call("c", "broken")))
    write(tmp_path, "api_calls/broken.json", api_call("broken", "https://x/{{ args.id"))
    code, _, err = waybill("blueprints", "validate", str(path))
    assert code == 1 and "broken" in err


def test_import_then_export_round_trips_the_logic(waybill, tmp_path: Path) -> None:
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder)
    for path in EXAMPLE_FILES:
        code, out, err = waybill("blueprints", "import", str(folder / path.name))
        assert code == 0, err
        original = BlueprintDoc.model_validate(json.loads(path.read_text()))
        assert f"imported {original.id} (draft, 0 problem(s))" in out

        code, exported, err = waybill("blueprints", "export", original.id)
        assert code == 0, err
        again = BlueprintDoc.model_validate(json.loads(exported))
        assert again.nodes == original.nodes and again.edges == original.edges
        assert json.loads(exported) == original.canonical()

        copy = tmp_path / path.name
        code, out, _ = waybill("blueprints", "export", original.id, "-o", str(copy))
        assert code == 0 and f"wrote {copy}" in flat(out)
        assert copy.read_text() == exported
        code, _, _ = waybill("blueprints", "import", str(copy))
        assert code == 0
        assert waybill("blueprints", "export", original.id)[1] == exported


def test_import_with_publish(waybill) -> None:
    code, out, err = waybill("blueprints", "import", "--publish", str(EXAMPLE_FILES[0]))
    assert code == 0, err
    assert "imported returns-approved (version 1, 0 problem(s))" in out


def test_importing_a_blueprint_with_problems_keeps_them(waybill, tmp_path: Path) -> None:
    path = write(tmp_path, "bp.json", linear(sleep("wait", "soon"), blueprint_id="draft-only"))
    code, out, _ = waybill("blueprints", "import", "--publish", str(path))
    assert code == 0
    assert "imported draft-only (draft, 1 problem(s))" in out
    code, exported, _ = waybill("blueprints", "export", "draft-only")
    assert code == 0 and json.loads(exported)["nodes"][1]["duration"] == "soon"


def test_import_refuses_duplicate_node_ids(waybill, tmp_path: Path) -> None:
    data = blueprint([start(), sleep("a"), sleep("a"), end()], chain("start", "a", "end"), "dup")
    code, _, err = waybill("blueprints", "import", str(write(tmp_path, "dup.json", data)))
    assert code == 1 and "Node ids must be unique." in err
    assert waybill("blueprints", "export", "dup")[0] == 1


def test_export_of_an_unknown_blueprint_fails(waybill) -> None:
    code, out, err = waybill("blueprints", "export", "ghost")
    assert (code, out) == (1, "")
    assert "No blueprint with id 'ghost'." in err


def test_orders_reprocess_defaults_to_the_failed_step(waybill) -> None:
    """Running every step again (refunds included) must be asked for with `--from start`."""
    code, out, err = waybill("orders", "reprocess", "--help")
    assert code == 0, err
    assert "[default: failed]" in flat(out)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_web_refuses_an_open_bind_without_admin_token(waybill, host: str) -> None:
    code, _, err = waybill("web", "--host", host)
    assert code == 2
    assert f"Refusing to bind to {host} without ADMIN_TOKEN set." in flat(err)
