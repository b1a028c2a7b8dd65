"""Jinja filters for values on pages: JSON shown as text, times, durations, short counts.
Each returns plain text; the template's autoescape makes it safe."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any


def pretty(value: Any) -> str:
    """JSON for a <pre>: indented, non-ASCII kept, anything else as its string."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)


def compact(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(moment: datetime | None) -> str:
    """A moment in UTC, to the second."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _span(seconds: float) -> str:
    """`42 s`, `3 min 5 s`, `2 h 5 min`, `2 d 23 h`: two units while the first is small,
    rounded to the last unit shown (47 h 59 min 59 s is `2 d`)."""
    whole = round(abs(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    if (minutes := round(whole / 60)) < 60:
        return f"{minutes} min"
    if minutes < 600:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h" + (f" {rest} min" if rest else "")
    if (hours := round(whole / 3600)) < 24:
        return f"{hours} h"
    if hours < 240:
        days, rest = divmod(hours, 24)
        return f"{days} d" + (f" {rest} h" if rest else "")
    return f"{round(whole / 86_400)} d"


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """`5 min ago`, or `in 2 d 23 h` for a moment still to come."""
    if moment is None:
        return ""
    delta = ((now or datetime.now(UTC)) - moment).total_seconds()
    if -1 < delta < 5:
        return "just now"
    return f"{_span(delta)} ago" if delta > 0 else f"in {_span(delta)}"


def duration(started: datetime | None, finished: datetime | None) -> str:
    """How long a step took: `12 ms`, `1.4 s`, `3 min 2 s`."""
    if started is None or finished is None:
        return ""
    return millis((finished - started).total_seconds() * 1000)


def millis(ms: float) -> str:
    """A number of milliseconds as `<1 ms`, `12 ms`, `1.4 s`, `3 min 2 s`."""
    if ms < 1000:
        return f"{max(ms, 0):.0f} ms" if ms >= 1 else "<1 ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return _span(ms / 1000)


def count(value: int) -> str:
    """`987`, `12.3k`, `1.2M`."""
    if value < 10_000:
        return f"{value:,}"
    if value < 1_000_000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value / 1_000_000:.1f}M".replace(".0M", "M")


def _path_pattern(path: str) -> str:
    """A value path as it may be written: `input.a`, `input ['a']`, `input["a"]`, `x[0]`."""
    head, *rest = re.findall(r"[A-Za-z_]\w*|\[[^\]]*\]", path)
    parts = [rf"(?<![\w.]){re.escape(head)}"]
    for segment in rest:
        key = json.loads(segment[1:-1]) if segment.startswith("[") else segment
        text = re.escape(str(key))
        quoted = rf"""(?:'{text}'|"{text}")""" if isinstance(key, str) else text
        dotted = rf"|\s*\.\s*{text}\b" if not segment.startswith("[") else ""
        parts.append(rf"(?:\s*\[\s*{quoted}\s*\]{dotted})")
    return "".join(parts)


def explained(expression: str, reads: list[dict[str, Any]] | None) -> list[tuple[str, Any]]:
    """A condition's expression cut into pieces: (text, None) as written, and (text, read)
    where it names a value it read (`read`: {path, value | preview | missing})."""
    known = {read["path"]: read for read in reads or [] if isinstance(read, dict) and "path" in read}
    if not known:
        return [(expression, None)]
    ordered = sorted(known, key=len, reverse=True)  # `input.a.b` before `input.a`
    finder = re.compile("|".join(f"(?P<p{index}>{_path_pattern(path)})"
                                 for index, path in enumerate(ordered)))
    pieces: list[tuple[str, Any]] = []
    at = 0
    for match in finder.finditer(expression):
        path = ordered[int((match.lastgroup or "p0")[1:])]
        pieces += [(expression[at:match.start()], None), (match.group(), known[path])]
        at = match.end()
    pieces.append((expression[at:], None))
    return [piece for piece in pieces if piece[0]]


FILTERS = {"pretty": pretty, "compact": compact, "when": when, "ago": ago,
           "duration": duration, "millis": millis, "count": count, "explained": explained}
