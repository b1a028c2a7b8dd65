"""An order's positions: one lane on the main path and, inside a `parallel`, one per branch.

The root lane (token `""`) is the order's own columns (`current_node`, `attempt`, `wake_at`);
the lanes of branches live in the order's `branches` JSON. A branch's token is its path of
`parallel:first node` segments (`fan:refund`, or `fan:refund/inner:a` when nested), so a
lane's parent is its token without the last segment.

`apply(lanes, plan, token, step, now)` moves one lane by its step's outcome and answers which
lanes walk next: a `Fork` parks the lane (`forked`) and starts one lane per branch; an
`Arrive` parks a branch at its join (`arrived`) and, when its siblings are all there, drops
them and resumes the parent lane at the join; a branch that fails (a step failing without a
`failed` edge of its own) drops its siblings, which stop before their next step, and sends
the parent lane along the parallel's `failed` edge, or fails the enclosing branch, or the
order. Pure: the runner walks the lanes and commits what this decides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend.engine.walker import (
    Advance,
    Arrive,
    AwaitChildren,
    Finish,
    Fork,
    Plan,
    Retry,
    Sleep,
    Step,
    Throttle,
    Wait,
)

ROOT = ""
LIVE = frozenset({"running", "sleeping", "waiting", "retrying", "throttled"})
PRECEDENCE = ("running", "retrying", "throttled", "sleeping", "waiting")  # the order's state, from its lanes


@dataclass
class Lane:
    node: str
    attempt: int = 1
    state: str = "running"  # or sleeping, waiting, retrying, throttled; forked, arrived (parked)
    wake_at: datetime | None = None
    error: dict[str, Any] | None = None
    entered_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("wake_at", "entered_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lane:
        moments = {key: datetime.fromisoformat(data[key]) if data.get(key) else None
                   for key in ("wake_at", "entered_at")}
        return cls(node=data["node"], attempt=data.get("attempt", 1),
                   state=data.get("state", "running"), error=data.get("error"), **moments)


@dataclass
class Lanes:
    lanes: dict[str, Lane]

    @classmethod
    def of_order(cls, root: Lane, branches: dict[str, Any] | None) -> Lanes:
        lanes = {ROOT: root}
        lanes |= {token: Lane.from_json(data) for token, data in (branches or {}).items()}
        return cls(lanes)

    def __getitem__(self, token: str) -> Lane:
        return self.lanes[token]

    def __contains__(self, token: str) -> bool:
        return token in self.lanes

    @property
    def root(self) -> Lane:
        return self.lanes[ROOT]

    def branches_json(self) -> dict[str, Any] | None:
        """What the order's `branches` column holds: every lane but the root's."""
        data = {token: lane.to_json() for token, lane in self.lanes.items() if token != ROOT}
        return data or None

    def live(self) -> dict[str, Lane]:
        return {token: lane for token, lane in self.lanes.items() if lane.state in LIVE}

    def summary(self) -> tuple[str, datetime | None]:
        """The order's state and next wake-up, from its live lanes."""
        live = self.live().values()
        states = {lane.state for lane in live}
        state = next((s for s in PRECEDENCE if s in states), "running")
        wakes = [lane.wake_at for lane in live if lane.wake_at is not None]
        return state, (min(wakes) if wakes and state != "running" else None)

    # -- moves ----------------------------------------------------------------------------

    def fork(self, token: str, parallel: str, firsts: list[str], now: datetime) -> list[str]:
        lane = self.lanes[token]
        lane.state, lane.wake_at = "forked", None
        tokens = [_child(token, parallel, first) for first in firsts]
        for child, first in zip(tokens, firsts, strict=True):
            self.lanes[child] = Lane(node=first, error=lane.error, entered_at=now)
        return tokens

    def siblings(self, token: str) -> list[str]:
        """Every lane of the same parallel as `token` (itself included), and theirs."""
        prefix = _block_prefix(token)
        return [other for other in self.lanes if other.startswith(prefix)]

    def arrive(self, token: str, join: str) -> str | None:
        """Park the branch at its join; the parent lane's token once all branches arrived."""
        lane = self.lanes[token]
        lane.state, lane.node, lane.wake_at = "arrived", join, None
        siblings = [t for t in self.siblings(token) if "/" not in t[len(_block_prefix(token)):]]
        if any(self.lanes[t].state != "arrived" for t in siblings):
            return None
        for other in self.siblings(token):
            del self.lanes[other]
        return parent(token)

    def drop_block(self, token: str) -> str:
        """A branch failed: drop it and its siblings (with their own branches); the parent's token."""
        for other in self.siblings(token):
            del self.lanes[other]
        return parent(token)


def parent(token: str) -> str:
    return token.rsplit("/", 1)[0] if "/" in token else ROOT


def _child(token: str, parallel: str, first: str) -> str:
    segment = f"{parallel}:{first}"
    return f"{token}/{segment}" if token else segment


def _block_prefix(token: str) -> str:
    """`a:b/p:first` → `a:b/p:`: what every branch of the same parallel starts with."""
    head, _, segment = token.rpartition("/")
    parallel = segment.split(":", 1)[0]
    return f"{head}/{parallel}:" if head else f"{parallel}:"


@dataclass
class Applied:
    walk: list[str] = field(default_factory=list)  # lanes that go on walking now
    resume: set[str] = field(default_factory=set)  # of those, lanes resumed at their join
    finish: Finish | None = None  # the order is over


def apply(lanes: Lanes, plan: Plan, token: str, step: Step, now: datetime) -> Applied:
    """Move lane `token` by `step`'s outcome (see the module's docstring)."""
    lane = lanes[token]
    outcome = step.outcome
    if step.status == "failed":
        lane.error = step.error
    if isinstance(outcome, Advance):
        lane.node, lane.attempt, lane.state, lane.wake_at = outcome.node, 1, "running", None
        lane.entered_at = now
        return Applied([token])
    if isinstance(outcome, Sleep):
        lane.state, lane.wake_at = "sleeping", outcome.until
    elif isinstance(outcome, Wait | AwaitChildren):
        lane.state, lane.wake_at = "waiting", outcome.until
    elif isinstance(outcome, Throttle):
        lane.state, lane.wake_at = "throttled", outcome.until
    elif isinstance(outcome, Retry):
        lane.state, lane.attempt = "retrying", lane.attempt + 1
        lane.wake_at = now + timedelta(seconds=outcome.delay_s)
    elif isinstance(outcome, Fork):
        tokens = lanes.fork(token, step.node, outcome.branches, now)
        return Applied(tokens)
    elif isinstance(outcome, Arrive):
        resumed = lanes.arrive(token, outcome.join)
        if resumed is None:
            return Applied()
        back = lanes[resumed]
        back.node, back.attempt, back.state, back.entered_at = outcome.join, 1, "running", now
        return Applied([resumed], {resumed})
    elif isinstance(outcome, Finish):
        return _finished(lanes, plan, token, outcome, now)
    return Applied()


def _finished(lanes: Lanes, plan: Plan, token: str, outcome: Finish, now: datetime) -> Applied:
    if token == ROOT:
        return Applied(finish=outcome)
    # a branch cannot end the order: its failure (or a stray end) fails its parallel
    error = outcome.error or {"code": "branch_ended", "message": "A branch reached an end "
                              "before its join.", "node": lanes[token].node}
    up = lanes.drop_block(token)
    parallel = lanes[up].node
    target = plan.target(parallel, "failed")
    if target is None:
        return _finished(lanes, plan, up, Finish("failed", error=error), now)
    lane = lanes[up]
    lane.node, lane.attempt, lane.state, lane.error, lane.entered_at = target, 1, "running", error, now
    return Applied([up])
