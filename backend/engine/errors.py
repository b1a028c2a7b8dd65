"""Errors a step can end with; the walker turns them into retries or `failed` edges.

    StepError                      (base: `code`, `message`, optional `details`)
    ├── TransientStepError         retried with backoff: connection errors, timeouts,
    │                              5xx, 429/408 (`retry_after` honours Retry-After)
    └── PermanentStepError         not retried: other 4xx, refused destinations,
        │                          oversized responses, expression errors, and any
        │                          other exception a step raises (`step_crashed`)
        └── SignalTimeout          a wait_signal's timeout passed

After the node's retries are exhausted (or at once, for permanent errors) the node's
`failed` edge is taken with `error` in scope; without one the order fails.
"""

from __future__ import annotations

from typing import Any


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
