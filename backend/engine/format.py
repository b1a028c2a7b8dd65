"""The formats the engine reads: blueprints (API bodies and files in `blueprints/`) and the
API call definitions their `api_call` nodes name.

Logic and layout are kept apart: nodes and edges carry only logic; positions live in the
top-level `layout` map (`{"node_id": {"x": 0, "y": 0}}`), so that a diff of a moved node
touches only `layout`. A `position` on a node is accepted on input and moved into `layout`.

An API call is a reusable HTTP request, its templates rendered per step. Only pydantic here:
what the API adds around these (summaries, timestamps, validation reports) lives in
`backend.blueprints.schemas` and `backend.api_calls.schemas`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from backend.engine.catalogue import NODE_TYPES as CATALOGUE_TYPES

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
MAX_VERSION = 2**31 - 1  # version numbers are INTEGER columns
NODE_TYPES = tuple(CATALOGUE_TYPES)  # the node-type catalogue is the one list
MAX_NODES = 2000
MAX_EDGES = 5000
DEFAULT_IDEMPOTENCY_KEY = "{{ order.id }}:{{ node.id }}"
DEFAULT_CONCURRENCY = 10
MAX_CONCURRENCY = 1000
TOLERATED_SHARE = re.compile(r"^(100|[0-9]{1,2})(\.[0-9]{1,2})?%$")

Expression = str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Position(Strict):
    x: float
    y: float


class RetryPolicy(Strict):
    max_attempts: int = Field(default=3, ge=1, le=100)
    initial_s: float = Field(default=1.0, ge=0, le=86_400)
    backoff: float = Field(default=2.0, ge=1, le=10)
    max_s: float = Field(default=60.0, ge=0, le=86_400)


class RateLimit(Strict):
    """At most `burst` calls at once, and `per_s` a second after that, across all workers."""

    per_s: float = Field(gt=0, le=10_000, description="calls a second, on average")
    burst: int = Field(default=1, ge=1, le=10_000, description="calls that may go at once")


class ConcurrencyLimit(Strict):
    """At most `limit` active orders of the blueprint per value of `key` (an expression on
    `input`); the others wait as `queued` and start in the order they were created."""

    key: Expression = Field(description="like input.customer_id")
    limit: int = Field(default=1, ge=1, le=10_000)


class Node(Strict):
    id: str = Field(pattern=NODE_ID_PATTERN)
    type: str = Field(max_length=32, description="one of " + ", ".join(NODE_TYPES))
    label: str | None = Field(default=None, max_length=200)
    api_call: str | None = Field(default=None, max_length=64)
    function: str | None = Field(default=None, max_length=64)
    args: dict[str, Expression] = Field(default_factory=dict)
    save: dict[str, Expression] = Field(default_factory=dict)
    expression: Expression | None = None
    duration: str | None = Field(default=None, max_length=32, description="`90s`, `15m`, `3d`")
    until: Expression | None = None
    signal: str | None = Field(default=None, max_length=64)
    timeout: str | None = Field(default=None, max_length=32)
    result: Expression | None = None
    status: str | None = Field(default=None, description="end nodes: completed or failed")
    retry: RetryPolicy | None = None
    # for_each and sub_blueprint: a child order per item (for_each) or one (sub_blueprint)
    items: Expression | None = Field(default=None, description="for_each: a list expression")
    blueprint: str | None = Field(default=None, max_length=64,
                                  description="the child blueprint (its published version)")
    input: dict[str, Expression] = Field(
        default_factory=dict, description="the child's input; for_each also sees `item`, `index`")
    concurrency: int | None = Field(default=None, ge=1, le=MAX_CONCURRENCY,
                                    description=f"children running at once (default {DEFAULT_CONCURRENCY})")
    tolerated_failures: StrictInt | str | None = Field(
        default=None, description="failed children allowed before the `failed` edge: a count "
        "or a share like `10%`")
    position: Position | None = Field(default=None, exclude=True)

    @field_validator("tolerated_failures")
    @classmethod
    def _count_or_share(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and not 0 <= value <= 1_000_000:
            raise ValueError("a count from 0 to 1,000,000")
        if isinstance(value, str) and not TOLERATED_SHARE.match(value):
            raise ValueError("a count like 3 or a share like `10%`")
        return value

    def tolerated(self, total: int) -> int:
        """How many of `total` children may fail before the `failed` edge is taken."""
        value = self.tolerated_failures or 0
        if isinstance(value, str):
            return int(total * float(value[:-1]) / 100)
        return value


class Edge(Strict):
    source: str = Field(max_length=64)
    target: str = Field(max_length=64)
    kind: str = Field(default="next", max_length=16,
                      description="next, true, false, failed or branch")
    label: str | None = Field(default=None, max_length=200)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.target)


class WebhookConfig(Strict):
    order_id_field: str | None = Field(
        default=None, max_length=200, description="dotted path into the body, e.g. `order.id`"
    )
    credential: str | None = Field(
        default=None, max_length=64, description="an `hmac` credential: signatures required"
    )


class BlueprintDoc(Strict):
    """A blueprint as the editor, the API and the files see it."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    input_schema: dict[str, Any] = Field(default_factory=dict)
    sample_input: dict[str, Any] | None = None
    dispatch: Literal["immediate", "batch"] | None = None
    webhook: WebhookConfig | None = None
    concurrency: ConcurrencyLimit | None = None
    nodes: list[Node] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_EDGES)
    layout: dict[str, Position] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _positions_into_layout(self) -> BlueprintDoc:
        for node in self.nodes:
            if node.position is not None:
                self.layout.setdefault(node.id, node.position)
                node.position = None
        return self

    def canonical(self) -> dict[str, Any]:
        """The stored/exported form: no empty defaults, layout last and sorted."""
        data = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        data["id"], data["name"] = self.id, self.name
        data["nodes"] = [node.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
                         | {"id": node.id, "type": node.type} for node in self.nodes]
        data["edges"] = [edge.model_dump(mode="json", exclude_none=True) for edge in self.edges]
        data["layout"] = {key: self.layout[key].model_dump() for key in sorted(self.layout)}
        order = ("id", "name", "description", "input_schema", "sample_input", "dispatch",
                 "webhook", "concurrency", "nodes", "edges", "layout")
        return {key: data[key] for key in order if key in data}


class MockResponse(Strict):
    status: int = Field(default=200, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None


class ApiCallSpec(Strict):
    """Templates (url, headers, query, body, idempotency_key) see `args`, `input`, `vars`,
    `order`, `node` and `variables`. A body that is a JSON object is rendered value by value;
    a value that is one `{{ expression }}` keeps its type."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(min_length=1, max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    credential: str | None = Field(default=None, max_length=64)
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    success_status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204], min_length=1)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    idempotency_key: str = Field(default=DEFAULT_IDEMPOTENCY_KEY, max_length=500)
    mock: MockResponse | None = None
    rate_limit: RateLimit | None = Field(
        default=None, description="calls a second (and a burst) across all workers")
    max_in_flight: int | None = Field(
        default=None, ge=1, le=10_000, description="calls being sent at once, across all workers")
