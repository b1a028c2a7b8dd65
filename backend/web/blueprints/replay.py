"""The replay page's view: the replayed orders, changed ones first, and the steps where
orders changed, by count."""

from __future__ import annotations

from dataclasses import dataclass

from backend.engine.walker import Plan
from backend.replay.schemas import ReplayAnswer, ReplayedOrder


@dataclass
class ReplayView:
    answer: ReplayAnswer
    plan: Plan

    def label(self, node: str | None) -> str | None:
        found = self.plan.nodes.get(node or "")
        return found.label if found is not None else None

    @property
    def rows(self) -> list[ReplayedOrder]:
        return sorted(self.answer.orders, key=lambda order: not order.changed)

    @property
    def hot_steps(self) -> list[tuple[str, int, int]]:
        """(step, orders changed there, orders unrecorded there), most changed first."""
        return sorted(((node, counts.changed, counts.unrecorded)
                       for node, counts in self.answer.nodes.items()),
                      key=lambda item: (-item[1], -item[2], item[0]))
