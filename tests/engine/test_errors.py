"""Step errors: how `classify` sorts an HTTP status into success, transient (with
Retry-After) or permanent, and what a status error carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from backend.engine.errors import PermanentStepError, TransientStepError, classify


def outcome(status: int, headers: dict[str, str] | None = None):
    try:
        classify(status, headers or {}, [200, 201], {"response": {"status": status}})
    except (TransientStepError, PermanentStepError) as exc:
        return type(exc).__name__, exc.code, exc.retry_after
    return None


def test_classify_by_status():
    assert outcome(200) is None and outcome(201) is None
    assert outcome(204) == ("PermanentStepError", "http_status", None)  # not a success here
    for status in (400, 401, 403, 404, 409, 422):
        assert outcome(status)[0] == "PermanentStepError", status
    for status in (408, 429, 500, 502, 503, 504):
        assert outcome(status)[0] == "TransientStepError", status


def test_retry_after_in_seconds_or_as_a_date():
    assert outcome(429, {"retry-after": "3"})[2] == 3.0
    assert outcome(503, {"retry-after": "-5"})[2] == 0.0
    assert outcome(503, {"retry-after": "999999999"})[2] == 86_400.0
    assert outcome(503, {"retry-after": "soon"})[2] is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= outcome(429, {"retry-after": later})[2] <= 30
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert outcome(429, {"retry-after": past})[2] == 0.0


def test_a_status_error_carries_its_details():
    with pytest.raises(PermanentStepError) as caught:
        classify(404, {}, [200], {"request": {"url": "u"}, "response": {"status": 404}})
    assert caught.value.as_dict() == {"code": "http_status", "message": "HTTP 404",
                                      "transient": False, "details": {
                                          "request": {"url": "u"}, "response": {"status": 404}}}
