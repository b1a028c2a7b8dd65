"""Outbound calls to private, loopback or link-local destinations fail the step permanently
(`destination_refused`, one attempt, no retry), also when reached through a redirect."""

import pytest

from backend.core import embedded_redis
from tests.orders.builders import FAST_RETRY, linear, node, step_runs


async def run_one_call(url, api_call, published, create_order, get_order, run_worker, order_id,
                       **worker_settings):
    await api_call({"id": f"{order_id}-call", "name": "x", "url": url, "retry": FAST_RETRY})
    await published(linear(f"{order_id}-bp", node("call", "api_call", api_call=f"{order_id}-call")))
    await create_order(order_id, f"{order_id}-bp", {})
    await run_worker(**worker_settings)
    return await get_order(order_id)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data",
                                 "http://127.0.0.1:{port}/", "http://localhost:{port}/x",
                                 "http://[::ffff:127.0.0.1]:{port}/"])
async def test_a_private_destination_fails_at_once(url, api_call, published, create_order,
                                                   get_order, run_worker, demo_calls):
    url = url.format(port=embedded_redis.free_port())
    order = await run_one_call(url, api_call, published, create_order, get_order, run_worker,
                               "out-1")
    assert order["state"] == "failed"
    assert step_runs(order) == [("start", 1, "completed"), ("call", 1, "failed")]
    error = order["error"]
    assert (error["code"], error["transient"], error["attempt"]) == (
        "destination_refused", False, 1)
    assert "OUTBOUND_ALLOW" in error["message"]
    assert order["failed_node"] == "call"


async def test_a_redirect_to_a_private_address_fails_the_step(echo_url, demo_url, api_call,
                                                              published, create_order,
                                                              get_order, run_worker):
    allow = [url.removeprefix("http://") for url in (demo_url, echo_url)]
    url = f"{echo_url}/redirect?to=http://169.254.169.254/latest/meta-data"
    order = await run_one_call(url, api_call, published, create_order, get_order, run_worker,
                               "out-2", outbound_allow=allow)
    assert order["state"] == "failed"
    assert step_runs(order) == [("start", 1, "completed"), ("call", 1, "failed")]
    assert (order["error"]["code"], order["error"]["attempt"]) == ("destination_refused", 1)
    assert "169.254.169.254" in order["error"]["message"]


async def test_an_allowed_destination_is_reached(echo_url, demo_url, api_call, published,
                                                 create_order, get_order, run_worker):
    allow = [url.removeprefix("http://") for url in (demo_url, echo_url)]
    order = await run_one_call(f"{echo_url}/redirect?to=/landed", api_call, published,
                               create_order, get_order, run_worker, "out-3",
                               outbound_allow=allow)
    assert order["state"] == "completed", order["error"]
    assert order["steps"][1]["response"]["body"]["path"] == "/landed"
