"""The JSON endpoints behind the pages, against the running `waybill dev`: order figures and
"try it" for an API call (mock, real, refused, unknown)."""

from __future__ import annotations

import httpx

from tests.e2e.flows import (
    call_step,
    chain,
    create_orders,
    publish,
    put_api_call,
    put_variable,
    refunds_call,
    wait_for,
)


async def test_order_stats(http: httpx.AsyncClient) -> None:
    await put_variable(http, "e2e_stats_fail", "always")
    await put_api_call(http, refunds_call("e2e-stats-call", "e2e_stats_fail"))
    await publish(http, chain("e2e-stats", call_step("e2e-stats-call")))
    await create_orders(http, "e2e-stats", ["stats-1"])
    await wait_for(http, ["stats-1"], {"failed"})
    answer = await http.get("/api/stats/orders", params={"blueprint": "e2e-stats"})
    assert answer.status_code == 200
    stats = answer.json()
    assert stats["counts"]["failed"] == 1 and stats["total"] == 1
    assert set(stats["counts"]) == {"queued", "pending", "running", "sleeping", "waiting",
                                    "retrying", "throttled", "completed", "failed", "cancelled"}
    assert len(stats["throughput"]) == 60 and stats["throughput"][-1]["failed"] == 1
    [failure] = stats["recent_failures"]
    assert (failure["order_id"], failure["failed_node"]) == ("stats-1", "call")
    assert failure["error"]["message"] == "HTTP 500"
    bad = await http.get("/api/stats/orders", params={"blueprint": "no/such"})
    assert bad.status_code == 422 and bad.json()["type"] == "invalid"


async def test_try_an_api_call(http: httpx.AsyncClient) -> None:
    await put_variable(http, "e2e_try_fail", "0")
    await put_api_call(http, refunds_call("e2e-try-call", "e2e_try_fail"))
    real = (await http.post("/api/api-calls/e2e-try-call/try", json={})).json()
    assert real["ok"] is True and real["response"]["status"] == 200
    assert real["request"]["headers"]["Idempotency-Key"].endswith(":try_it")
    mocked = (await http.post("/api/api-calls/e2e-try-call/try", json={"mock": True})).json()
    assert mocked["ok"] and mocked["request"]["mocked"] and mocked["response"]["body"]["mocked"]

    await put_variable(http, "e2e_try_fail", "always")
    failed = (await http.post("/api/api-calls/e2e-try-call/try", json={})).json()
    assert failed["ok"] is False and failed["error"]["code"] == "http_status"
    assert failed["error"]["transient"] is True and failed["response"]["status"] == 500

    await put_api_call(http, {"id": "e2e-try-private", "name": "Private", "url": "http://10.1.2.3/x"})
    refused = (await http.post("/api/api-calls/e2e-try-private/try", json={})).json()
    assert refused["error"]["code"] == "destination_refused" and refused["request"] is None

    missing = await http.post("/api/api-calls/no-such-call/try", json={})
    assert missing.status_code == 404
    wrong = await http.post("/api/api-calls/e2e-try-call/try", json={"args": [], "extra": 1})
    assert wrong.status_code == 422
