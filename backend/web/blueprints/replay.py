"""The replay page's view: each replayed order as a row (changed ones first), its first
difference said in words, and the steps where orders changed, by count."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backend.engine.walker import Plan
from backend.replay.schemas import Difference, ReplayAnswer, ReplayedOrder

SHORT = 80


def short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


def said(difference: Difference) -> str:
    """What changed at the first differing step, in a few words."""
    before, after = difference.before or {}, difference.after
    if after is None:
        return "not reached any more"
    if "value" in before and before.get("value") != after.get("value"):
        return f"was {short(before.get('value'))}, now {short(after.get('value'))}"
    if before.get("status") != after.get("status"):
        return f"was {before.get('status')}, now {after.get('status')}"
    if before.get("request") != after.get("request"):
        return "sends another request"
    if before.get("result") != after.get("result"):
        return f"ends with {short(after.get('result'))}"
    if before.get("saved") != after.get("saved"):
        return "saves other values"
    if before.get("next") != after.get("next"):
        return f"goes on to {after.get('next') or 'nothing'}"
    return "differs"


@dataclass
class Row:
    order: ReplayedOrder
    difference: str | None


@dataclass
class ReplayView:
    answer: ReplayAnswer
    plan: Plan

    def label(self, node: str | None) -> str | None:
        found = self.plan.nodes.get(node or "")
        return found.label if found is not None else None

    @property
    def rows(self) -> list[Row]:
        ordered = sorted(self.answer.orders, key=lambda order: not order.changed)
        return [Row(order, said(order.first_difference) if order.first_difference else None)
                for order in ordered]

    @property
    def hot_steps(self) -> list[tuple[str, int, int]]:
        """(step, orders changed there, orders unrecorded there), most changed first."""
        return sorted(((node, counts.changed, counts.unrecorded)
                       for node, counts in self.answer.nodes.items()),
                      key=lambda item: (-item[1], -item[2], item[0]))
