"""Errors a step can end with; the walker turns them into retries or `failed` edges.

    StepError                      (base: `code`, `message`, optional `details`)
    ├── TransientStepError         retried with backoff: connection errors, timeouts,
    │                              5xx, 429/408 (`retry_after` honours Retry-After)
    └── PermanentStepError         not retried: other 4xx, refused destinations,
        │                          oversized responses, expression errors, and any
        │                          other exception a step raises (`step_crashed`)
        ├── SignalTimeout          a wait_signal's timeout passed
        └── ChildrenFailed         more children of a for_each/sub_blueprint failed than
                                   it tolerates (`failed`: index, order_id, error of each)

`Throttled` is not a failure: an API call's `rate_limit` or `max_in_flight` has no slot now;
the walker parks the step (`throttled`) until `delay_s` has passed, spending no attempt.

After the node's retries are exhausted (or at once, for permanent errors) the node's
`failed` edge is taken with `error` in scope; without one the order fails. `classify` sorts
an HTTP status (of a real or a mocked response) into success, transient or permanent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

TRANSIENT_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


class StepError(Exception):
    transient = False

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "transient": self.transient,
                **({"details": self.details} if self.details else {})}


class TransientStepError(StepError):
    transient = True


class PermanentStepError(StepError):
    pass


class SignalTimeout(PermanentStepError):
    pass


class ChildrenFailed(PermanentStepError):
    def __init__(self, code: str, message: str, *, failed: list[dict[str, Any]],
                 request: dict[str, Any]) -> None:
        super().__init__(code, message)
        self.failed = failed
        self.request = request

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {"failed": self.failed}


class Throttled(Exception):
    """No slot of an API call's limits now: look again after `delay_s`."""

    def __init__(self, limit: str, delay_s: float, message: str) -> None:
        super().__init__(message)
        self.limit = limit  # "rate_limit" or "max_in_flight"
        self.delay_s = delay_s
        self.message = message


def classify(status: int, headers: dict[str, str], success: list[int],
             details: dict[str, Any]) -> None:
    """Raise the step error a status means, unless it is a success."""
    if status in success:
        return
    message = f"HTTP {status}"
    if status in TRANSIENT_STATUS:
        raise TransientStepError("http_status", message, details,
                                 retry_after=_retry_after(headers.get("retry-after")))
    raise PermanentStepError("http_status", message, details)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), 86_400.0)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((moment - datetime.now(UTC)).total_seconds(), 0.0)
