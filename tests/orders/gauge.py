"""A mock API that measures what it is sent: how many requests are in flight at once (the
most ever), every call with its key and idempotency key, and their times. Keys in `failing`
are answered 400 (a permanent failure). Served on a real loopback port by the tests."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Call:
    key: str
    idempotency_key: str | None
    started: float
    ended: float = 0.0


@dataclass
class Gauge:
    in_flight: int = 0
    peak: int = 0
    calls: list[Call] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def reset(self) -> None:
        self.in_flight = self.peak = 0
        self.calls.clear()
        self.failing.clear()

    def called(self) -> list[str]:
        return [call.key for call in self.calls]

    async def work(self, request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        key = str(body.get("key"))
        call = Call(key, request.headers.get("idempotency-key"), time.monotonic())
        self.calls.append(call)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(float(request.query_params.get("ms", "20")) / 1000)
        finally:
            self.in_flight -= 1
            call.ended = time.monotonic()
        if key in self.failing:
            return JSONResponse({"error": f"{key} cannot be done"}, status_code=400)
        return JSONResponse({"label": f"label-{key}", "key": key})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/work", self.work, methods=["POST"])])
