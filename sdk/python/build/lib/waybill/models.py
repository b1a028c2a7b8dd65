"""What the API answers, as plain frozen dataclasses; `raw` keeps the JSON as it came."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FINAL_STATES = frozenset({"completed", "failed", "cancelled"})


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class StepRun:
    """One attempt of one node of an order."""

    node: str
    attempt: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    lane: str | None = None
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    saved: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepRun:
        return cls(node=data["node"], attempt=data["attempt"], status=data["status"],
                   started_at=_when(data.get("started_at")),
                   finished_at=_when(data.get("finished_at")), lane=data.get("lane"),
                   request=data.get("request"), response=data.get("response"),
                   saved=data.get("saved"), error=data.get("error"))


@dataclass(frozen=True)
class Order:
    """An order as `GET /api/orders/{id}` answers it. Orders from a list are summaries:
    their `input`, `vars`, `result`, `error` and `steps` are empty."""

    order_id: str
    blueprint: str
    state: str
    version: int | None = None
    test: bool = False
    input: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: dict[str, Any] | None = None
    current_node: str | None = None
    failed_node: str | None = None
    parent: str | None = None
    wake_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    steps: list[StepRun] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)  # reruns: who, when, old/new input
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Order:
        return cls(
            order_id=data["order_id"], blueprint=data["blueprint"], state=data["state"],
            version=data.get("version"), test=bool(data.get("test")),
            input=data.get("input") or {}, vars=data.get("vars") or {},
            result=data.get("result"), error=data.get("error"),
            current_node=data.get("current_node"), failed_node=data.get("failed_node"),
            parent=data.get("parent"), wake_at=_when(data.get("wake_at")),
            created_at=_when(data.get("created_at")), updated_at=_when(data.get("updated_at")),
            steps=[StepRun.from_json(step) for step in data.get("steps") or []],
            audit=list(data.get("audit") or []), raw=data)


@dataclass(frozen=True)
class Page:
    """One page of `GET /api/orders`."""

    orders: list[Order]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Page:
        return cls([Order.from_json(item) for item in data["data"]], data.get("next_cursor"))


class Reprocessed(int):
    """How many orders a reprocess picked (it is that int), with the API's details: the
    first 100 ids and how many restart at each node."""

    dry_run: bool
    order_ids: list[str]
    steps: dict[str, int]

    def __new__(cls, count: int, *, dry_run: bool, order_ids: list[str],
                steps: dict[str, int]) -> Reprocessed:
        answer = super().__new__(cls, count)
        answer.dry_run, answer.order_ids, answer.steps = dry_run, order_ids, steps
        return answer

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reprocessed:
        return cls(data["count"], dry_run=data["dry_run"], order_ids=data["order_ids"],
                   steps=data["steps"])

    def __repr__(self) -> str:
        return f"Reprocessed({int(self)}, dry_run={self.dry_run}, steps={self.steps})"


@dataclass(frozen=True)
class Event:
    """One event of an order's live stream: `snapshot` (with `order`), a step event
    (`step_started`, `step_finished`, `order_state`: the worker's fields in `data`), and
    last `final`, with the order read again once it is completed, failed or cancelled."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    order: Order | None = None

    @property
    def state(self) -> str | None:
        """The order's state after this event, when the event tells it."""
        return self.order.state if self.order is not None else self.data.get("state")

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES
