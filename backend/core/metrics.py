"""Prometheus metrics. The web process serves them at /metrics; a worker serves its own on
WORKER_METRICS_PORT when that is set."""

from prometheus_client import Counter, Histogram

ORDERS_CREATED = Counter("waybill_orders_created_total", "Orders created",
                         ["blueprint", "test"])
STEPS = Counter("waybill_steps_total", "Steps run, by node type and outcome",
                ["node_type", "status"])
STEP_SECONDS = Histogram("waybill_step_seconds", "Time a step took", ["node_type"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                  2.5, 5, 10, 30))
ACTIVATIONS = Counter("waybill_activations_total", "Order activations, by how they ended",
                      ["outcome"])
