"""The path an order took, from its step records (step runs as stored, or a replay's steps):
visits of steps, the edges taken between them, and where two paths first differ.

A record is a step run's fields (`node`, `lane`, `attempt`, `status`, `request`, `response`,
`saved`, `error`). A *visit* is one arrival at a step in one lane: its attempts and a
sleep's or a wait's later record are one visit, ending with the last record's status. The
edge a visit left by is its kind (`failed` when it failed, `true`/`false` from a condition's
value, else `next`) when the lane's next visit is at that edge's target; a branch's last step
leaves by its edge to the join (arrivals are not recorded). Pure: coverage counts and the
replay lab's comparison both read paths through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backend.engine.walker import Plan

OPEN = frozenset({"running", "retrying", "throttled", "sleeping", "waiting"})  # more records follow
VOLATILE_REQUEST = frozenset({"elapsed_ms", "mocked", "replayed", "unrecorded"})


@dataclass
class Visit:
    node: str
    lane: str
    status: str
    attempts: int = 1
    request: Any = None
    response: Any = None
    saved: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    next: str | None = None  # the node the lane went on to (None: where it stopped)


def visits(records: Iterable[Mapping[str, Any]]) -> list[Visit]:
    """The visits of `records` (oldest first), in the order they began."""
    found: list[Visit] = []
    last: dict[str, Visit] = {}
    for record in records:
        lane = record.get("lane") or ""
        node = record["node"]
        visit = last.get(lane)
        if visit is not None and visit.node == node and visit.status in OPEN:
            visit.attempts += 1
        else:
            if visit is not None:
                visit.next = node
            visit = Visit(node, lane, record["status"])
            found.append(visit)
            last[lane] = visit
        visit.status = record["status"]
        visit.request, visit.response = record.get("request"), record.get("response")
        visit.saved = {**visit.saved, **(record.get("saved") or {})}
        visit.error = record.get("error")
    return found


def kind_of(plan: Plan, visit: Visit) -> str | None:
    """The kind of edge the visit left by (None: a parallel forks, an end ends)."""
    node = plan.nodes.get(visit.node)
    if node is None or node.type in ("parallel", "end"):
        return None
    if visit.status == "failed":
        return "failed"
    if node.type == "condition":
        value = visit.response.get("value") if isinstance(visit.response, dict) else None
        return "true" if value else "false"
    return "next"


def edges(plan: Plan, walked: list[Visit]) -> set[tuple[str, str, str]]:
    """(source, target, kind) of every edge of `plan` the visits took."""
    taken: set[tuple[str, str, str]] = set()
    firsts: set[str] = set()
    for visit in walked:
        if visit.lane and visit.lane not in firsts:  # a branch's first step: its parallel's edge
            firsts.add(visit.lane)
            parallel, _, first = visit.lane.rsplit("/", 1)[-1].partition(":")
            if first == visit.node and (parallel, "branch") in _kinds(plan, parallel):
                taken.add((parallel, first, "branch"))
        if visit.status in OPEN:
            continue
        kind = kind_of(plan, visit)
        target = plan.target(visit.node, kind) if kind else None
        if target is None:
            continue
        to_join = visit.next is None and visit.lane and plan.nodes[target].type == "join"
        if visit.next == target or to_join:
            taken.add((visit.node, target, kind or "next"))
    return taken


def _kinds(plan: Plan, node: str) -> set[tuple[str, str]]:
    return {(edge.source, edge.kind) for edge in plan.doc.edges if edge.source == node}


# -- comparing two paths -------------------------------------------------------------------


def outcome(plan: Plan, visit: Visit | None) -> dict[str, Any] | None:
    """What a visit did, as compared and shown: its status, where it went, and by kind of
    step the condition's value, the call's request, the function's arguments, the end's
    result, and the values it saved."""
    if visit is None:
        return None
    node = plan.nodes.get(visit.node)
    kind = node.type if node else None
    shown: dict[str, Any] = {"status": visit.status, "next": visit.next}
    response = visit.response if isinstance(visit.response, dict) else {}
    if kind == "condition":
        shown["value"] = response.get("value")
    elif kind in ("api_call", "function") and isinstance(visit.request, dict):
        shown["request"] = {key: value for key, value in visit.request.items()
                            if key not in VOLATILE_REQUEST}
    elif kind == "end":
        shown["result"] = response.get("result")
    if visit.saved:
        shown["saved"] = visit.saved
    if visit.error:
        shown["error"] = {key: visit.error.get(key) for key in ("code", "message")}
    return shown


def first_difference(before_plan: Plan, before: list[Visit], after_plan: Plan,
                     after: list[Visit]) -> dict[str, Any] | None:
    """The first visit of `before` whose outcome `after` does not repeat (the same step, in
    the same lane, the same time): {"node", "before", "after"} (`after` None: not reached).
    A visit still open in `before` (the order sleeps or waits there now) ends the
    comparison: what follows has not happened yet."""
    seen: dict[tuple[str, str], int] = {}
    index: dict[tuple[str, str, int], Visit] = {}
    for visit in after:
        key = (visit.lane, visit.node)
        index[(*key, seen.get(key, 0))] = visit
        seen[key] = seen.get(key, 0) + 1
    seen = {}
    for visit in before:
        key = (visit.lane, visit.node)
        twin = index.get((*key, seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
        if visit.status in OPEN:
            if twin is None:
                return {"node": visit.node, "before": outcome(before_plan, visit), "after": None}
            return None
        was, now = outcome(before_plan, visit), outcome(after_plan, twin)
        if was != now:
            return {"node": visit.node, "before": was, "after": now}
    return None
