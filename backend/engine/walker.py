"""The walker: one step of one order through its blueprint. Pure: no arq, no database.

`await take_step(plan, order, ports)` runs the order's current node and answers a `Step`:
what happened (a step run record) and what comes next (an `Outcome`). The caller (the arq
job in `backend.orders.runner`) commits each step and keeps calling until the outcome is
not `Advance`. Side effects (HTTP, functions, time) come through `Ports` (for real runs
`backend.orders.executor.Executor`); the blueprint it walks is `backend.engine.format`'s.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from backend.engine import explain, expressions
from backend.engine.catalogue import StepStatus
from backend.engine.durations import parse_duration
from backend.engine.errors import (
    ChildrenFailed,
    PermanentStepError,
    SignalTimeout,
    StepError,
    Throttled,
)
from backend.engine.expressions import ExpressionError
from backend.engine.format import DEFAULT_CONCURRENCY, BlueprintDoc, Node, RetryPolicy

NO_RETRY = RetryPolicy(max_attempts=1)
CHILD_POLL = timedelta(seconds=30)  # a parent waiting on children looks again at least this often
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """A blueprint definition made ready to walk."""

    doc: BlueprintDoc
    nodes: dict[str, Node]
    edges: dict[tuple[str, str], str]
    start: str

    @classmethod
    def from_definition(cls, definition: dict[str, Any]) -> Plan:
        doc = BlueprintDoc.model_validate(definition)
        edges = {(edge.source, edge.kind): edge.target for edge in doc.edges}
        start = next(node.id for node in doc.nodes if node.type == "start")
        return cls(doc, {node.id: node for node in doc.nodes}, edges, start)

    def target(self, node_id: str, kind: str = "next") -> str | None:
        return self.edges.get((node_id, kind))

    def branches(self, node_id: str) -> list[str]:
        """The first nodes of a parallel's branches, in the order the blueprint lists them."""
        return [edge.target for edge in self.doc.edges
                if edge.source == node_id and edge.kind == "branch"]

    @property
    def api_calls(self) -> set[str]:
        return {node.api_call for node in self.nodes.values() if node.api_call}


@dataclass
class OrderView:
    """What the walker knows of an order."""

    order_id: str
    blueprint: str
    version: int | None
    input: dict[str, Any]
    vars: dict[str, Any]
    node: str
    attempt: int = 1
    error: dict[str, Any] | None = None
    wake_at: datetime | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    test: bool = False
    resuming: bool = False  # woken from a sleep or a wait (not a fresh arrival at the node)
    entered_at: datetime | None = None  # when the order reached this node in this run
    throttled: bool = False  # looking again after an API call's limits had no slot

    def scope(self) -> dict[str, Any]:
        order = {"id": self.order_id, "blueprint": self.blueprint, "version": self.version}
        scope = {"input": self.input, "vars": self.vars, "order": order,
                 "variables": self.variables}
        return scope | ({"error": self.error} if self.error is not None else {})


@dataclass
class ApiResult:
    request: dict[str, Any]
    response: dict[str, Any]  # what `save` expressions see
    stored: dict[str, Any] | None = None  # what step history keeps (redacted, capped)


class Ports(Protocol):
    async def call_api(self, api_call_id: str, args: dict[str, Any], scope: dict[str, Any],
                       node: Node) -> ApiResult: ...

    def retry_policy(self, api_call_id: str) -> RetryPolicy: ...

    def function(self, name: str) -> Callable[..., Any]: ...

    def now(self) -> datetime: ...

    async def children(self, batch: ChildBatch) -> ChildProgress: ...


@dataclass
class ChildBatch:
    """What a for_each or sub_blueprint step asks for: `count` children of `blueprint`, at most
    `concurrency` of them active at once. Children that failed before `since` (an earlier run
    of this node, before a reprocess) are run again."""

    node: str
    blueprint: str
    count: int
    concurrency: int
    inputs: Callable[[int], dict[str, Any]]  # the input of child `index`, evaluated when started
    since: datetime | None


@dataclass
class ChildResult:
    index: int
    order_id: str
    state: str
    result: Any = None
    error: dict[str, Any] | None = None


@dataclass
class ChildProgress:
    version: int | None
    total: int
    completed: int = 0
    failed: int = 0
    active: int = 0
    started: int = 0  # by this call
    final: list[ChildResult] | None = None  # every child in item order, once all are final

    @property
    def finished(self) -> int:
        return self.completed + self.failed

    def summary(self) -> dict[str, Any]:
        return {"total": self.total, "completed": self.completed, "failed": self.failed,
                "active": self.active, "version": self.version}


# -- outcomes --------------------------------------------------------------------------------


@dataclass
class Advance:
    """Go on to `node` now (None never happens in a valid blueprint)."""

    node: str


@dataclass
class Sleep:
    until: datetime


@dataclass
class Wait:
    signal: str
    until: datetime | None


@dataclass
class Retry:
    delay_s: float


@dataclass
class Throttle:
    """An API call's limits had no slot: call it again at `until` (no attempt spent)."""

    until: datetime


@dataclass
class AwaitChildren:
    """Wait for child orders; look again by `until` at the latest (a child's end wakes the
    parent sooner). `finished` is how many were final when the step looked."""

    until: datetime
    finished: int


@dataclass
class Fork:
    """Start every branch of a parallel (their first nodes)."""

    branches: list[str]


@dataclass
class Arrive:
    """A branch reached its join."""

    join: str


@dataclass
class Finish:
    status: Literal["completed", "failed"]
    result: Any = None
    error: dict[str, Any] | None = None


Outcome = Advance | Sleep | Wait | Retry | Throttle | Finish | AwaitChildren | Fork | Arrive


@dataclass
class Step:
    node: str
    attempt: int
    status: StepStatus
    outcome: Outcome
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    saved: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    consumed_signal: str | None = None
    record: bool = True  # False: a poll that changed nothing worth a line in the timeline


# kinds of step that do nothing outside the order: running one again changes nothing else
SIDE_EFFECT_FREE = frozenset({"start", "condition", "function"})


# -- one function per node kind ----------------------------------------------------------------

Handler = Callable[[Plan, Node, OrderView, Ports], Awaitable[Step]]


def _evaluate_all(sources: dict[str, str], scope: dict[str, Any]) -> dict[str, Any]:
    return {key: expressions.evaluate(source, scope) for key, source in sources.items()}


def _advance(plan: Plan, node: Node, order: OrderView, kind: str = "next", **fields: Any) -> Step:
    target = plan.target(node.id, kind)
    if target is None:
        raise PermanentStepError("no_edge", f"No {kind!r} edge leaves {node.id!r}.")
    return Step(node.id, order.attempt, "completed", Advance(target), **fields)


async def _start(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    return _advance(plan, node, order)


async def _api_call(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    scope = order.scope()
    args = _evaluate_all(node.args, scope)
    result = await ports.call_api(node.api_call or "", args, scope, node)
    saved = _evaluate_all(node.save, scope | {"response": result.response})
    stored = result.stored if result.stored is not None else result.response
    return _advance(plan, node, order, request=result.request, response=stored, saved=saved)


async def _function(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    scope = order.scope()
    args = _evaluate_all(node.args, scope)
    try:
        result = ports.function(node.function or "")(**args)
    except (TypeError, ValueError, LookupError, ArithmeticError, AttributeError) as exc:
        raise PermanentStepError("function_error", f"{node.function}: {exc}") from exc
    saved = _evaluate_all(node.save, scope | {"result": result})
    return _advance(plan, node, order, request={"args": args}, response={"result": result},
                    saved=saved)


async def _condition(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    """The edge taken, and why: the expression and the values it read (`explain`)."""
    source, scope = node.expression or "", order.scope()
    value = bool(expressions.evaluate(source, scope))
    return _advance(plan, node, order, "true" if value else "false",
                    request={"expression": source},
                    response={"value": value, "reads": explain.reads(source, scope)})


async def _sleep(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    now = ports.now()
    wake_at = order.wake_at or _wake_time(node, order, now)
    if order.test or wake_at <= now:
        return _advance(plan, node, order, response={"slept_until": wake_at.isoformat(),
                                                     "fast_forwarded": order.test and wake_at > now})
    return Step(node.id, order.attempt, "sleeping", Sleep(wake_at),
                response={"sleep_until": wake_at.isoformat()})


def _wake_time(node: Node, order: OrderView, now: datetime) -> datetime:
    if node.duration:
        return now + parse_duration(node.duration)
    value = expressions.evaluate(node.until or "", order.scope())
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise PermanentStepError("bad_until", f"`until` gave {value!r}, not a time") from exc
    if moment.tzinfo is None:
        raise PermanentStepError("bad_until", f"`until` gave {value!r} without a time zone")
    return moment


async def _wait_signal(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    name = node.signal or ""
    now = ports.now()
    if name in order.signals:
        payload = order.signals[name]
        saved = _evaluate_all(node.save, order.scope() | {"signal": payload})
        step = _advance(plan, node, order, response={"signal": name, "payload": payload},
                        saved=saved)
        step.consumed_signal = name
        return step
    deadline = order.wake_at
    if deadline is None and node.timeout:
        deadline = now + parse_duration(node.timeout)
    if deadline is not None and deadline <= now:
        raise SignalTimeout("signal_timeout", f"No {name!r} signal before {deadline.isoformat()}.")
    return Step(node.id, order.attempt, "waiting", Wait(name, deadline),
                response={"waiting_for": name,
                          "until": deadline.isoformat() if deadline else None})


async def _children(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    """for_each (a child per item) and sub_blueprint (one child): start children as capacity
    frees up, wait until all are final, then save `results`/`errors` (or `result`)."""
    scope = order.scope()
    each = node.type == "for_each"
    items = expressions.evaluate(node.items or "", scope) if each else [None]
    if not isinstance(items, list):
        raise PermanentStepError("bad_items", f"`items` gave {type(items).__name__}, not a list")

    def inputs(index: int) -> dict[str, Any]:
        extra = {"item": items[index], "index": index} if each else {}
        return _evaluate_all(node.input, scope | extra)

    batch = ChildBatch(node.id, node.blueprint or "", len(items),
                       node.concurrency or DEFAULT_CONCURRENCY if each else 1, inputs,
                       order.entered_at)
    progress = await ports.children(batch)
    request = {"blueprint": node.blueprint, "version": progress.version, "items": len(items)}
    if progress.final is None:
        outcome = AwaitChildren(ports.now() + CHILD_POLL, progress.finished)
        return Step(node.id, order.attempt, "waiting", outcome, request=request,
                    response=progress.summary(), record=not order.resuming)
    errors = [{"index": child.index, "order_id": child.order_id, "state": child.state,
               "error": child.error} for child in progress.final if child.state != "completed"]
    if len(errors) > node.tolerated(len(items)):
        first = errors[0]["error"] or {}
        message = (f"{len(errors)} of {len(items)} children failed (tolerated "
                   f"{node.tolerated(len(items))}); first: {first.get('message', errors[0]['state'])}")
        raise ChildrenFailed("children_failed", message, failed=errors, request=request)
    results = [child.result if child.state == "completed" else None for child in progress.final]
    names = {"results": results, "errors": errors} if each else {"result": results[0]}
    saved = _evaluate_all(node.save, scope | names)
    return _advance(plan, node, order, request=request, saved=saved,
                    response=progress.summary() | ({"results": len(results)} if each else {}))


async def _parallel(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    branches = plan.branches(node.id)
    return Step(node.id, order.attempt, "completed", Fork(branches),
                response={"branches": branches})


async def _join(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    """Reached by each branch (Arrive); when all arrived, the order continues from here."""
    if order.resuming:
        return _advance(plan, node, order)
    return Step(node.id, order.attempt, "completed", Arrive(node.id), record=False)


async def _end(plan: Plan, node: Node, order: OrderView, ports: Ports) -> Step:
    result = expressions.evaluate(node.result, order.scope()) if node.result else None
    status = node.status or "completed"
    error = order.error if status == "failed" else None
    return Step(node.id, order.attempt, "completed", Finish(status, result, error),
                response={"result": result})


HANDLERS: dict[str, Handler] = {
    "start": _start, "api_call": _api_call, "function": _function, "condition": _condition,
    "sleep": _sleep, "wait_signal": _wait_signal, "end": _end,
    "for_each": _children, "sub_blueprint": _children, "parallel": _parallel, "join": _join,
}


# -- failures ----------------------------------------------------------------------------------


def backoff_delay(policy: RetryPolicy, attempt: int, retry_after: float | None,
                  rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After is a floor."""
    ceiling = min(policy.max_s, policy.initial_s * policy.backoff ** (attempt - 1))
    delay = (rng or random).uniform(0, ceiling)
    return max(delay, retry_after) if retry_after is not None else delay


def _policy(node: Node, ports: Ports) -> RetryPolicy:
    if node.retry is not None:
        return node.retry
    if node.type == "api_call" and node.api_call:
        return ports.retry_policy(node.api_call)
    return NO_RETRY


def _on_error(plan: Plan, node: Node, order: OrderView, ports: Ports, exc: StepError) -> Step:
    error = exc.as_dict() | {"node": node.id, "attempt": order.attempt}
    details: dict[str, Any] = {"request": exc.details.get("request"),
                               "response": exc.details.get("response")}
    if isinstance(exc, ChildrenFailed):
        details["request"] = exc.request
    policy = _policy(node, ports)
    if exc.transient and order.attempt < policy.max_attempts:
        delay = backoff_delay(policy, order.attempt, exc.retry_after)
        return Step(node.id, order.attempt, "retrying", Retry(delay), error=error, **details)
    failed_target = plan.target(node.id, "failed")
    outcome: Outcome = Advance(failed_target) if failed_target else Finish("failed", error=error)
    return Step(node.id, order.attempt, "failed", outcome, error=error, **details)


async def take_step(plan: Plan, order: OrderView, ports: Ports) -> Step:
    """Run the order's current node once."""
    node = plan.nodes[order.node]
    try:
        return await HANDLERS[node.type](plan, node, order, ports)
    except Throttled as exc:  # one timeline line per wait, not one per look
        until = ports.now() + timedelta(seconds=exc.delay_s)
        return Step(node.id, order.attempt, "throttled", Throttle(until),
                    response={"limit": exc.limit, "message": exc.message,
                              "until": until.isoformat()}, record=not order.throttled)
    except ExpressionError as exc:
        return _on_error(plan, node, order, ports, PermanentStepError("expression", str(exc)))
    except StepError as exc:
        return _on_error(plan, node, order, ports, exc)
    except Exception as exc:  # a bug or an unforeseen input: recorded on the order, not lost
        log.exception("step %s of order %s crashed", node.id, order.order_id)
        crash = PermanentStepError("step_crashed", f"{type(exc).__name__}: {exc}"[:1000])
        return _on_error(plan, node, order, ports, crash)
