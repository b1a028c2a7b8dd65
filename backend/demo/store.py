"""In-memory state of the demo services and deterministic id helpers."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

Record = dict[str, Any]


def digest(*parts: object) -> str:
    """Hex SHA-256 of the parts, joined by `|`."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def digits(seed: str, count: int) -> str:
    """`count` decimal digits derived from `seed` (same seed, same digits)."""
    return str(int(digest(seed), 16)).zfill(count)[:count]


def make_id(prefix: str, value: object) -> str:
    """`<prefix>_<value>` when value is URL-safe, else `<prefix>_<hash of value>`."""
    text = str(value)
    return f"{prefix}_{text}" if _SAFE.match(text) else f"{prefix}_{digest(text)[:12]}"


@dataclass
class DemoStore:
    """Everything the demo services remember; `DELETE /calls` replaces it with a fresh one."""

    calls: list[Record] = field(default_factory=list)
    failures: dict[tuple[str, str | None], int] = field(default_factory=dict)
    replays: dict[tuple[str, str, str], tuple[int, Record]] = field(default_factory=dict)
    labels: dict[str, Record] = field(default_factory=dict)
    returns: dict[str, Record] = field(default_factory=dict)
    refunds: dict[str, Record] = field(default_factory=dict)
    subscriptions: dict[str, Record] = field(default_factory=dict)
    comments: dict[str, list[Record]] = field(default_factory=dict)
    orders: dict[str, Record] = field(default_factory=dict)
