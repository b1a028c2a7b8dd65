"""What an order recorded, made into the walker's ports for a replay: every API call is
answered by the response the order got from the same API call (the n-th call of it, in
order: a retried call's failures are replayed too), a call it never made by the API call's
mock (and noted `unrecorded`); children by the children it had. Nothing is sent anywhere.

An order's history is its step runs since its last rerun from the start (a rerun from the
failed step keeps what ran before that step), with its signals in the order they came.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.engine.errors import PermanentStepError, TransientStepError, classify
from backend.engine.format import ApiCallSpec, Node, RetryPolicy
from backend.engine.walker import ApiResult, ChildBatch, ChildProgress, ChildResult, Plan
from backend.orders.executor import Executor
from backend.orders.models import AuditEntry, Order, StepRun


@dataclass
class Recording:
    """One order's history, as the replay answers from it."""

    order: Order
    records: list[dict[str, Any]]  # its effective step runs, oldest first
    signals: dict[str, list[Any]]  # payloads by signal name, oldest first
    children: dict[str, list[ChildResult]] = field(default_factory=dict)  # by the node's id


def effective(runs: list[StepRun], audit: list[AuditEntry]) -> list[StepRun]:
    """The step runs of the order's last run: those after its last rerun from the start;
    a rerun from the failed step keeps the runs before that step's first visit."""
    kept = sorted(runs, key=lambda run: run.id or 0)
    for entry in sorted(audit, key=lambda entry: entry.id or 0):
        if entry.kind != "reprocessed":
            continue
        detail = entry.detail or {}
        before = [run for run in kept if run.started_at < entry.at]
        after = [run for run in kept if run.started_at >= entry.at]
        if detail.get("from") == "failed" and detail.get("node"):
            first = next((index for index, run in enumerate(before)
                          if run.node == detail["node"]), len(before))
            before = before[:first]
        else:
            before = []
        kept = before + after
    return kept


def record_of(run: StepRun) -> dict[str, Any]:
    return {"node": run.node, "lane": run.lane, "attempt": run.attempt, "status": run.status,
            "request": run.request, "response": run.response, "saved": run.saved,
            "error": run.error}


@dataclass
class _Call:
    response: dict[str, Any] | None
    error: dict[str, Any] | None


def recorded_calls(plan: Plan, records: list[dict[str, Any]]) -> dict[str, list[_Call]]:
    """The API calls an order made, by API call id, in the order it made them."""
    calls: dict[str, list[_Call]] = defaultdict(list)
    for record in records:
        node = plan.nodes.get(record["node"])
        request = record.get("request")
        if node is None or node.type != "api_call" or not isinstance(request, dict) \
                or "url" not in request:
            continue  # a throttled look, or a step that failed before sending
        calls[node.api_call or ""].append(_Call(record.get("response"), record.get("error")))
    return calls


@dataclass
class ReplayPorts:
    """`walker.Ports` answered from a recording; `unrecorded` names the steps that were not."""

    executor: Executor
    calls: dict[str, list[_Call]]
    children_of: Mapping[str, list[ChildResult]]
    clock: Callable[[], datetime]
    unrecorded: list[str] = field(default_factory=list)

    def now(self) -> datetime:
        return self.clock()

    def function(self, name: str) -> Callable[..., Any]:
        return self.executor.function(name)

    def retry_policy(self, api_call_id: str) -> RetryPolicy:
        return self.executor.retry_policy(api_call_id)

    async def call_api(self, api_call_id: str, args: dict[str, Any], scope: dict[str, Any],
                       node: Node) -> ApiResult:
        spec = self.executor.specs.get(api_call_id)
        if spec is None:
            raise PermanentStepError("unknown_api_call", f"No API call with id {api_call_id!r}.")
        _, request = self.executor.build(spec, scope | {"args": args, "node": {"id": node.id}})
        queue = self.calls.get(api_call_id)
        call = queue.pop(0) if queue else None
        if call is None or _truncated(call.response):
            self._note(node.id)
            request["unrecorded"] = True
            if call is None or spec.mock is not None:
                return self.executor.mocked(spec, request)
        request["replayed"] = True
        return _answer(spec, request, call)

    def _note(self, node: str) -> None:
        if node not in self.unrecorded:
            self.unrecorded.append(node)

    async def children(self, batch: ChildBatch) -> ChildProgress:
        had = {child.index: child for child in self.children_of.get(batch.node, [])}
        if any(index not in had for index in range(batch.count)):
            self._note(batch.node)
        final = [had.get(index) or ChildResult(index, "", "completed")
                 for index in range(batch.count)]
        progress = ChildProgress(None, batch.count, final=final)
        progress.completed = sum(child.state == "completed" for child in final)
        progress.failed = batch.count - progress.completed
        return progress


def _truncated(response: dict[str, Any] | None) -> bool:
    body = response.get("body") if isinstance(response, dict) else None
    return isinstance(body, dict) and body.get("truncated") is True and "preview" in body


def _answer(spec: ApiCallSpec, request: dict[str, Any], call: _Call) -> ApiResult:
    """The recorded answer, classified by the replayed version's API call (its success
    statuses): a transport error again as that error."""
    response = call.response
    if not isinstance(response, dict) or "status" not in response:
        error = call.error or {"code": "no_response", "message": "No response was recorded."}
        kind = TransientStepError if error.get("transient") else PermanentStepError
        raise kind(error.get("code", "error"), error.get("message", ""), {"request": request})
    response = {"status": response["status"], "headers": response.get("headers") or {},
                "body": response.get("body")}
    classify(response["status"], response["headers"], spec.success_status,
             {"request": request, "response": response})
    return ApiResult(request, response, response)
