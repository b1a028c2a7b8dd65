"""Per-request plumbing shared by every demo endpoint: the call log, injected faults and
idempotent replays (a POST repeated with the same `Idempotency-Key` answers the first result).

Query flags, accepted by every endpoint:
- `fail=N`: the first N calls fail (counted per path and `Idempotency-Key`, or per path
  without the header), then calls succeed; `fail=always`: every call fails.
- `fail_status=` the failure's status (default 500; 429 adds `Retry-After: 1`).
- `fail_mode=after`: do the work first, then fail (a response lost after the side effect).
- `delay_ms=` answer after this many milliseconds (capped at 30000).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from backend.demo.store import DemoStore, Record

MAX_DELAY_MS = 30_000
Action = Callable[[], tuple[int, Record]]


class DemoFailure(Exception):
    """An injected (or domain) failure, answered as `{"error": message}`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Faults:
    fail: str | None = None
    status: int = 500
    delay_ms: int = 0
    after: bool = False


async def fault_params(
    fail: Annotated[str | None, Query(
        pattern=r"^(\d{1,6}|always)$",
        description="fail the first N calls (per path and Idempotency-Key), or `always`")] = None,
    fail_status: Annotated[int, Query(ge=400, le=599, description="status of a failure")] = 500,
    delay_ms: Annotated[int, Query(ge=0, description="answer slowly (capped at 30000)")] = 0,
    fail_mode: Annotated[Literal["before", "after"], Query(
        description="`after`: do the work, then fail (a lost response)")] = "before",
) -> Faults:
    """The failure-injection query flags of one request."""
    return Faults(fail, fail_status, min(delay_ms, MAX_DELAY_MS), fail_mode == "after")


def store_of(request: Request) -> DemoStore:
    """The demo app's state."""
    return request.app.state.demo


def route_path(request: Request) -> str:
    """The path relative to where the demo app is mounted (`/returns`, not `/demo/returns`)."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def record_status(request: Request, status: int) -> None:
    """Note the answered status on this request's call-log entry, if it has one."""
    entry = getattr(request.state, "demo_call", None)
    if entry is not None:
        entry["status"] = status


def take_failure(
    store: DemoStore, path: str, key: str | None, faults: Faults
) -> DemoFailure | None:
    """Whether this call fails, counting failures per (path, Idempotency-Key)."""
    if faults.fail is None:
        return None
    count = store.failures.get((path, key), 0)
    if faults.fail != "always" and count >= int(faults.fail):
        return None
    store.failures[(path, key)] = count + 1
    headers = {"Retry-After": "1"} if faults.status == 429 else {}
    return DemoFailure(faults.status, f"injected failure {count + 1} ({faults.fail})", headers)


async def _body_of(request: Request) -> Any:
    """The request body as JSON, else text, else None."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@dataclass
class Call:
    """One received call: answers reads and (idempotent) writes, then any deferred failure."""

    request: Request
    store: DemoStore
    path: str
    key: str | None
    failure: DemoFailure | None = None

    def read(self, body: Any, status: int = 200) -> JSONResponse:
        """Answer a read."""
        return self._answer(status, body, {})

    def write(self, action: Action) -> JSONResponse:
        """Run `action` once per Idempotency-Key and echo the key in the answer."""
        replay_key = (self.request.method, self.path, self.key or "")
        cached = self.store.replays.get(replay_key) if self.key else None
        if cached is None:
            status, body = action()
            cached = (status, copy.deepcopy({**body, "idempotency_key": self.key}))
            if self.key:
                self.store.replays[replay_key] = cached
            return self._answer(*cached, {})
        return self._answer(*cached, {"Idempotent-Replayed": "true"})

    def _answer(self, status: int, body: Any, headers: dict[str, str]) -> JSONResponse:
        if self.failure is not None:
            raise self.failure
        record_status(self.request, status)
        return JSONResponse(body, status_code=status, headers=headers)


async def _log(request: Request, call: Call) -> None:
    """Append this call to the call log."""
    entry = {"seq": len(call.store.calls) + 1, "method": request.method, "path": call.path,
             "query": dict(request.query_params), "idempotency_key": call.key,
             "body": await _body_of(request), "status": None}
    call.store.calls.append(entry)
    request.state.demo_call = entry


async def _received(request: Request, faults: Faults, *, log: bool) -> Call:
    """Build the Call, log it, wait `delay_ms`, then fail now or later if asked to."""
    call = Call(request, store_of(request), route_path(request),
                request.headers.get("idempotency-key"))
    if log:
        await _log(request, call)
    if faults.delay_ms:
        await asyncio.sleep(faults.delay_ms / 1000)
    call.failure = take_failure(call.store, call.path, call.key, faults)
    if call.failure is not None and not faults.after:
        raise call.failure
    return call


async def service_call(request: Request, faults: Annotated[Faults, Depends(fault_params)]) -> Call:
    """Dependency of every service endpoint: logged, then faults injected."""
    return await _received(request, faults, log=True)


async def admin_call(request: Request, faults: Annotated[Faults, Depends(fault_params)]) -> Call:
    """Dependency of the `/calls` endpoints: faults injected, not logged."""
    return await _received(request, faults, log=False)


ServiceCall = Annotated[Call, Depends(service_call)]
AdminCall = Annotated[Call, Depends(admin_call)]
