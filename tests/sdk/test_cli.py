"""`waybill orders start|get|list|signal|cancel|wake|watch`: the CLI on the client, against
the served app and a real worker (CliRunner in a thread, off the server's loop)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from backend.app.cli import app
from tests.sdk.conftest import TOKEN, blocking


@pytest.fixture
def waybill(url):
    """Run `waybill orders ...` against the served app: (exit code, stdout, stderr)."""
    runner = CliRunner()

    async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        environment = {"WAYBILL_URL": url, "WAYBILL_TOKEN": "", "COLUMNS": "200", **(env or {})}
        result = await blocking(runner.invoke, app, ["orders", *args], env=environment)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


async def test_start_wait_json_prints_the_completed_order(waybill, worker):
    code, out, err = await waybill("start", "sdk-double", "--id", "c-1", "--input", '{"n": 5}',
                                   "--wait", "--json", "--timeout", "20")
    assert code == 0, err
    order = json.loads(out)
    assert (order["order_id"], order["state"], order["result"]) == ("c-1", "completed", 10)
    assert [step["node"] for step in order["steps"]] == ["start", "end"]


async def test_a_failing_order_exits_1(waybill, worker, tmp_path):
    given = tmp_path / "input.json"
    given.write_text('{"any": "thing"}')
    code, out, err = await waybill("start", "sdk-refuse", "--id", "c-bad", "--input", f"@{given}",
                                   "--wait")
    assert code == 1
    assert "refuse" in out and "failed" in out  # the live table's last frame
    assert "failed at step 'refuse'" in err and "HTTP 400" in err
    code, out, _ = await waybill("get", "c-bad", "--json")
    assert (code, json.loads(out)["input"]) == (0, {"any": "thing"})


async def test_list_get_signal_cancel_and_watch(waybill, worker):
    for order_id in ("c-sig", "c-stop"):
        code, out, err = await waybill("start", "sdk-approval", "--id", order_id, "--json")
        assert code == 0 and json.loads(out)["order_id"] == order_id, err
    code, out, err = await waybill("list", "--json", "--blueprint", "sdk-approval")
    assert code == 0, err
    assert sorted(order["order_id"] for order in json.loads(out)) == ["c-sig", "c-stop"]
    code, out, _ = await waybill("list", "--limit", "1")
    assert code == 0 and "sdk-approval" in out and ("c-sig" in out) != ("c-stop" in out)

    code, out, err = await waybill("signal", "c-sig", "approved", "--payload", '{"by": "lee"}')
    assert code == 0 and "signalled 'approved' to c-sig" in out, err
    code, out, err = await waybill("watch", "c-sig", "--json", "--timeout", "20")
    assert code == 0, err
    assert (json.loads(out)["state"], json.loads(out)["result"]) == ("completed", "lee")
    code, out, _ = await waybill("get", "c-sig")
    assert code == 0 and "c-sig" in out and "completed" in out and "approval" in out

    code, out, err = await waybill("cancel", "c-stop", "--json")
    assert code == 0 and json.loads(out)["state"] == "cancelled", err
    code, _, err = await waybill("watch", "c-stop")
    assert code == 1 and "cancelled" in err
    code, _, err = await waybill("wake", "c-stop")
    assert code == 2 and "409" in err and "not sleeping" in err


async def test_usage_and_api_errors_exit_2(waybill, guarded_url):
    code, _, err = await waybill("list", env={"WAYBILL_URL": guarded_url, "WAYBILL_TOKEN": "bad"})
    assert code == 2
    assert "401" in err and "token" in err.lower() and "Traceback" not in err
    code, out, err = await waybill("list", "--json", "--url", guarded_url, "--token", TOKEN)
    assert (code, json.loads(out)) == (0, []), err
    code, _, err = await waybill("get", "nope")
    assert code == 2 and "No order with id 'nope'" in err
    code, _, err = await waybill("start", "sdk-double", "--input", "{not json")
    assert code == 2 and "--input" in err
