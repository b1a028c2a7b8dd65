"""`parse_duration`: the units blueprints write, and what it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.engine.durations import DurationError, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("15m", 900), ("3d", 259_200), ("2w", 1_209_600), ("1h", 3600),
    ("1h30m", 5400), ("250ms", 0.25), ("1.5h", 5400), (" 1h 30m ", 5400), ("0s", 0),
    ("1d12h", 129_600), ("5m5s", 305), ("366d", 366 * 86_400),
])
def test_parses(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", [
    "", "   ", "10", "s", "3 days", "1h30", "-5s", "1y", "1x", "h1", "1.s", "ten s", "1h-30m",
])
def test_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(DurationError, match="is not a duration: write a number and a unit, like 90s"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["367d", "53w", "9000h"])
def test_refuses_more_than_a_year(text: str) -> None:
    with pytest.raises(DurationError, match="longer than a year"):
        parse_duration(text)


def test_duration_error_is_a_value_error_naming_the_text() -> None:
    with pytest.raises(ValueError, match="“soon”"):
        parse_duration("soon")
