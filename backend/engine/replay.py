"""Walk one order through a plan from start to end in one go, with ports that answer from a
recording (the replay lab): the same walker and the same lane moves as a real run, without
the database, time or queue between steps.

Sleeps pass at once (the view is a test's, which fast-forwards them); a retry is the next
attempt at once; a signal wait takes the next recorded signal of its name, or times out if
the order's own wait ended without one (`waits_end`), else the lane stops there (`waiting`).
At most `max_steps` steps: a walk that needs more ends `failed` with `replay_limit`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from backend.engine.branches import ROOT, Lane, Lanes, apply
from backend.engine.walker import Finish, OrderView, Plan, Ports, Retry, Throttle, Wait, take_step

MAX_STEPS = 500


@dataclass
class Walked:
    state: str
    result: Any = None
    error: dict[str, Any] | None = None
    records: list[dict[str, Any]] = field(default_factory=list)


async def walk(plan: Plan, order: OrderView, ports: Ports, *, signals: dict[str, list[Any]],
               waits_end: bool, max_steps: int = MAX_STEPS) -> Walked:
    """`order` (its input, id and variables; `node` is ignored) from the plan's start."""
    lanes = Lanes({ROOT: Lane(node=plan.start, entered_at=ports.now())})
    queue: deque[tuple[str, bool]] = deque([(ROOT, False)])  # (lane, resuming)
    walked = Walked("running")
    pending = {name: list(payloads) for name, payloads in signals.items()}
    steps = 0
    while queue:
        token, resuming = queue.popleft()
        if token not in lanes:  # a sibling branch failed and dropped it
            continue
        if steps >= max_steps:
            walked.state, walked.error = "failed", {
                "code": "replay_limit", "message": f"More than {max_steps} steps in one replay."}
            return walked
        steps += 1
        lane = lanes[token]
        node = plan.nodes[lane.node]
        waiting = pending.get(node.signal or "") if node.type == "wait_signal" else None
        view = OrderView(
            order_id=order.order_id, blueprint=order.blueprint, version=order.version,
            input=order.input, vars=order.vars, node=lane.node, attempt=lane.attempt,
            error=lane.error, wake_at=lane.wake_at if resuming else None,
            signals={node.signal or "": waiting[0]} if waiting else {},
            variables=order.variables, test=True, resuming=resuming, entered_at=lane.entered_at)
        step = await take_step(plan, view, ports)
        now = ports.now()
        applied = apply(lanes, plan, token, step, now)
        if step.saved and token in lanes:
            order.vars.update(step.saved)
        if step.consumed_signal and waiting:
            waiting.pop(0)
        if step.record:
            walked.records.append({
                "node": step.node, "lane": token or None, "attempt": step.attempt,
                "status": step.status, "request": step.request, "response": step.response,
                "saved": step.saved or None, "error": step.error})
        if applied.finish is not None:
            return _finished(walked, applied.finish)
        outcome = step.outcome
        if isinstance(outcome, Retry | Throttle):
            lanes[token].state = "running"
            queue.append((token, False))
        elif isinstance(outcome, Wait):  # no recorded signal is left for it
            if waits_end and outcome.until is not None:  # the order's own wait timed out
                lanes[token].wake_at = now - timedelta(seconds=1)
                queue.append((token, True))
        else:
            queue.extend((other, other in applied.resume) for other in applied.walk)
    walked.state = lanes.summary()[0]
    return walked


def _finished(walked: Walked, finish: Finish) -> Walked:
    walked.state, walked.result, walked.error = finish.status, finish.result, finish.error
    return walked

