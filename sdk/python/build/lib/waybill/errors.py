"""What the client raises, mirroring the API's error answers.

    WaybillError              (base: `status`, `type`, `detail`, `errors`)
    ├── NotFound              404
    ├── Conflict              409  (duplicate order id, nothing published, already final, ...)
    ├── Invalid               400, 413, 422  (`problems`: the API's list of errors)
    ├── Unauthorized          401, 403  (missing or wrong admin token)
    ├── ServerError           5xx
    ├── TransportError        no answer (connection refused, reset, timed out)
    ├── OrderFailed           the awaited order failed (`order`, `error`, `failed_step`)
    ├── OrderCancelled        the awaited order was cancelled (`order`)
    └── WaitTimeout           the order was not final in time (also a TimeoutError)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from waybill.models import Order


class WaybillError(Exception):
    def __init__(self, detail: str, *, status: int | None = None, type: str | None = None,
                 errors: list[Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.type = type
        self.errors = errors or []

    def __str__(self) -> str:
        if self.status is None:
            return self.detail
        return f"{self.status} {self.type}: {self.detail}"


class NotFound(WaybillError):
    pass


class Conflict(WaybillError):
    pass


class Invalid(WaybillError):
    @property
    def problems(self) -> list[Any]:
        return self.errors

    def __str__(self) -> str:
        lines = [super().__str__(), *(f"  {problem}" for problem in self.problems)]
        return "\n".join(lines)


class Unauthorized(WaybillError):
    pass


class ServerError(WaybillError):
    pass


class TransportError(WaybillError):
    pass


class OrderFailed(WaybillError):
    def __init__(self, order: Order) -> None:
        self.order = order
        self.error: dict[str, Any] = order.error or {}
        self.failed_step = order.failed_node or self.error.get("node")
        message = self.error.get("message") or self.error.get("code") or "no error recorded"
        super().__init__(f"Order {order.order_id!r} failed at step {self.failed_step!r}: {message}",
                         type="order_failed")


class OrderCancelled(WaybillError):
    def __init__(self, order: Order) -> None:
        self.order = order
        super().__init__(f"Order {order.order_id!r} was cancelled.", type="order_cancelled")


class WaitTimeout(WaybillError, TimeoutError):
    def __init__(self, order_id: str, timeout: float, state: str | None) -> None:
        self.order_id = order_id
        self.state = state
        super().__init__(f"Order {order_id!r} was not final after {timeout:g} s "
                         f"(last seen {state or 'unknown'}).", type="wait_timeout")


_BY_STATUS: dict[int, type[WaybillError]] = {
    400: Invalid, 401: Unauthorized, 403: Unauthorized, 404: NotFound, 409: Conflict,
    413: Invalid, 422: Invalid}


def error_for(status: int, body: Any, fallback: str) -> WaybillError:
    """The error an API answer stands for; `body` is its JSON (or None), `fallback` its
    text, for answers that are not the API's `{"type", "detail", "errors"}`."""
    cls = ServerError if status >= 500 else _BY_STATUS.get(status, WaybillError)
    body = body if isinstance(body, dict) else {}
    errors = body.get("errors")
    return cls(str(body.get("detail") or fallback or f"HTTP {status}"), status=status,
               type=str(body.get("type") or "http_error"),
               errors=errors if isinstance(errors, list) else [])
