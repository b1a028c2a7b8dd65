"""Prometheus counters move with real orders; the web process serves them at /metrics."""

import pytest
from prometheus_client import REGISTRY

RETURN_INPUT = {"ticket_id": "T-9", "country": "CA", "order_id": "ORD-9"}


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.usefixtures("examples")
async def test_steps_and_orders_are_counted(live_client, create_order, run_worker):
    created = sample("waybill_orders_created_total", blueprint="returns-approved", test="false")
    api_calls = sample("waybill_steps_total", node_type="api_call", status="completed")
    sleeps = sample("waybill_activations_total", outcome="sleep")
    await create_order("m-1", "returns-approved", RETURN_INPUT)
    await run_worker()
    assert sample("waybill_orders_created_total", blueprint="returns-approved",
                  test="false") == created + 1
    # generate_response, ca_label, create_return, record_workflow before the 3-day sleep
    assert sample("waybill_steps_total", node_type="api_call",
                  status="completed") == api_calls + 4
    assert sample("waybill_activations_total", outcome="sleep") == sleeps + 1
    text = (await live_client.get("/metrics")).text
    assert 'waybill_orders_created_total{blueprint="returns-approved",test="false"}' in text
    assert "waybill_step_seconds_bucket" in text
