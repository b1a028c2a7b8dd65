"""parallel/join on real arq workers: branches of one order overlap in time, sleep and wait
for signals on their own, and a failing branch stops the others and takes the parallel's
`failed` edge."""

import pytest

from tests.orders.builders import edge, node, step_runs
from tests.orders.test_fan_out import allow_gauge, gauge, gauge_server, work_call  # noqa: F401


def call(node_id: str, key: str, save: str | None = None) -> dict:
    return node(node_id, "api_call", api_call="work", args={"key": f"'{key}'"},
                save={save or node_id: "response.body.label"})


def forked(blueprint_id: str, branch_a: list[dict], branch_b: list[dict], *,
           rescue: bool = False, result: str = "[vars.a, vars.b]") -> dict:
    """start → fan ⇉ (branch a …, branch b …) → meet → done; `rescue`: fan's failed edge."""
    nodes = [node("start", "start"), node("fan", "parallel"), *branch_a, *branch_b,
             node("meet", "join"), node("done", "end", result=result)]
    edges = [edge("start", "fan"), edge("fan", branch_a[0]["id"], "branch"),
             edge("fan", branch_b[0]["id"], "branch"), edge("meet", "done")]
    for branch in (branch_a, branch_b):
        ids = [item["id"] for item in branch] + ["meet"]
        edges += [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]
    if rescue:
        nodes.append(node("rescue", "end", status="failed", result="error.code"))
        edges.append(edge("fan", "rescue", "failed"))
    return {"id": blueprint_id, "name": blueprint_id, "nodes": nodes, "edges": edges}


@pytest.fixture
async def work(api_call, gauge_server):  # noqa: F811
    await api_call(work_call(gauge_server, ms=300))


async def test_two_branches_calling_a_slow_endpoint_overlap(
        work, published, gauge, allow_gauge, create_order, get_order, run_worker):  # noqa: F811
    await published(forked("two", [call("a", "left")], [call("b", "right")]))
    await create_order("o-two", "two", {})
    await run_worker(**allow_gauge)

    order = await get_order("o-two")
    assert order["state"] == "completed", order["error"]
    assert order["result"] == ["label-left", "label-right"]
    assert gauge.peak == 2
    spans = sorted((call.started, call.ended) for call in gauge.calls)
    assert spans[1][0] < spans[0][1]  # the second started before the first ended
    assert max(end for _, end in spans) - min(start for start, _ in spans) < 0.55
    assert ("fan", 1, "completed") in step_runs(order) and ("meet", 1, "completed") in step_runs(order)
    assert order["branches"] is None


async def test_a_branch_sleeps_while_the_other_runs(
        api_call, gauge_server, published, gauge, allow_gauge, create_order, get_order,  # noqa: F811
        run_worker):
    await api_call(work_call(gauge_server, ms=10))
    await published(forked("nap", [node("a_nap", "sleep", duration="1s"), call("a", "left")],
                           [call("b", "right"), call("b2", "right2", save="b2")]))
    await create_order("o-nap", "nap", {})
    await run_worker(**allow_gauge)

    order = await get_order("o-nap")
    assert order["state"] == "completed", order["error"]
    assert gauge.called() == ["right", "right2", "left"]  # b ran on while a slept
    assert ("a_nap", 1, "sleeping") in step_runs(order)
    assert order["vars"] == {"a": "label-left", "b": "label-right", "b2": "label-right2"}


async def test_a_signal_wait_inside_a_branch_resumes_it(
        api_call, gauge_server, published, gauge, allow_gauge, create_order, get_order,  # noqa: F811
        run_worker, live_client):
    await api_call(work_call(gauge_server, ms=10))
    await published(forked(
        "sig", [node("approve", "wait_signal", signal="approved", save={"a": "signal.by"})],
        [call("b", "right")]))
    await create_order("o-sig", "sig", {})
    await run_worker(**allow_gauge)
    order = await get_order("o-sig")
    assert order["state"] == "waiting"
    assert order["current_node"] == "fan"
    lanes = order["branches"]
    assert {lane["node"]: lane["state"] for lane in lanes.values()} == {
        "approve": "waiting", "meet": "arrived"}

    response = await live_client.post("/api/orders/o-sig/signals/approved", json={"by": "ana"})
    assert response.status_code in (200, 202), response.text
    await run_worker(**allow_gauge)
    order = await get_order("o-sig")
    assert order["state"] == "completed", order["error"]
    assert order["result"] == ["ana", "label-right"]


async def test_a_failing_branch_stops_the_other_and_takes_the_parallels_failed_edge(
        api_call, gauge_server, published, gauge, allow_gauge, create_order, get_order,  # noqa: F811
        run_worker):
    await api_call(work_call(gauge_server, ms=10))
    await published(forked("stop", [call("a", "broken")],
                           [node("b_nap", "sleep", duration="1s"), call("b", "never")],
                           rescue=True))
    gauge.failing.add("broken")
    await create_order("o-stop", "stop", {})
    await run_worker(**allow_gauge)

    order = await get_order("o-stop")
    assert order["state"] == "failed"
    assert order["current_node"] == "rescue"
    assert order["result"] == "http_status"
    assert "never" not in gauge.called()  # the sleeping branch stopped before its next step
    assert order["branches"] is None


async def test_a_failing_branch_without_a_failed_edge_fails_the_order(
        api_call, gauge_server, published, gauge, allow_gauge, create_order, get_order,  # noqa: F811
        run_worker):
    await api_call(work_call(gauge_server, ms=10))
    await published(forked("fail", [call("a", "broken")], [call("b", "fine")]))
    gauge.failing.add("broken")
    await create_order("o-fail", "fail", {})
    await run_worker(**allow_gauge)

    order = await get_order("o-fail")
    assert order["state"] == "failed"
    assert order["error"]["node"] == "a"


async def test_a_signal_reaches_its_branch_while_the_other_branch_sleeps(
        published, create_order, get_order, run_worker, live_client):
    await published(forked(
        "sig-nap", [node("approve", "wait_signal", signal="approved", save={"a": "signal.by"})],
        [node("b", "sleep", duration="1h")], result="vars.a"))
    await create_order("o-sig-nap", "sig-nap", {})
    await run_worker()
    assert (await get_order("o-sig-nap"))["state"] == "sleeping"  # the sleep decides the state

    response = await live_client.post("/api/orders/o-sig-nap/signals/approved", json={"by": "bo"})
    assert response.status_code == 202, response.text
    await run_worker()
    order = await get_order("o-sig-nap")
    assert order["state"] == "sleeping"
    assert order["vars"] == {"a": "bo"}
    assert {lane["node"]: lane["state"] for lane in order["branches"].values()} == {
        "meet": "arrived", "b": "sleeping"}


async def test_a_child_failed_by_its_branch_wakes_its_parent_at_once(
        api_call, gauge_server, published, gauge, allow_gauge, create_order, get_order,  # noqa: F811
        run_worker):
    await api_call(work_call(gauge_server, ms=10))
    await api_call(work_call(gauge_server, ms=300) | {"id": "slow", "name": "slow"})
    slow = node("b", "api_call", api_call="slow", args={"key": "'late'"},
                save={"b": "response.body.label"})
    await published(forked("split", [call("a", "broken")], [slow]))  # fails while b is out
    await published({"id": "holder", "name": "holder", "nodes": [
        node("start", "start"), node("kid", "sub_blueprint", blueprint="split"),
        node("done", "end")], "edges": [edge("start", "kid"), edge("kid", "done")]})
    gauge.failing.add("broken")
    await create_order("o-holder", "holder", {})
    await run_worker(**allow_gauge)  # a burst worker: it stops once nothing is queued

    assert (await get_order("o-holder.kid.0"))["state"] == "failed"
    order = await get_order("o-holder")
    assert order["state"] == "failed"  # not left waiting for the sweeper
    assert order["error"]["failed"][0]["order_id"] == "o-holder.kid.0"
