"""Durations as blueprints write them: `90s`, `15m`, `3d`, `1h30m`, `250ms`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
MAX = timedelta(days=366)


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    compact = text.replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise DurationError(f"“{text}” is not a duration: write a number and a unit, like 90s, "
                            "15m, 3d or 1h30m")
    value = timedelta(seconds=sum(float(n) * UNITS[u] for n, u in parts))
    if value > MAX:
        raise DurationError(f"“{text}” is longer than a year, the longest a step may wait")
    return value
