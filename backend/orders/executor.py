"""The walker's ports for real runs (`walker.Ports`): API calls over HTTP (or mocked),
functions, the clock, child orders. Beside the runner because it touches the outside: it
sends through the `HttpCaller` of `backend.orders.outbound`, reads the database's clock and
starts children through `backend.orders.children`."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import httpx

from backend.core.db import utcnow
from backend.engine import expressions
from backend.engine.errors import PermanentStepError, StepError, classify
from backend.engine.format import ApiCallSpec, Node, RetryPolicy
from backend.engine.functions import REGISTRY
from backend.engine.walker import ApiResult, ChildBatch, ChildProgress
from backend.orders.children import ChildOrders
from backend.orders.outbound import HttpCaller
from backend.orders.throttle import Limiter

SENSITIVE_HEADERS = ("authorization", "cookie", "proxy-authorization", "x-api-key")
REDACTED = "[redacted]"
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class CredentialValue:
    type: str
    meta: dict[str, Any]
    secret: dict[str, Any]

    def apply(self, headers: dict[str, str], query: dict[str, Any]) -> None:
        if self.type == "bearer":
            headers["Authorization"] = f"Bearer {self.secret['token']}"
        elif self.type == "basic":
            pair = f"{self.meta['username']}:{self.secret['password']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif self.type == "header":
            headers[self.meta["header"]] = self.secret["value"]
        elif self.type == "query":
            query[self.meta["param"]] = self.secret["value"]

    @property
    def header_names(self) -> frozenset[str]:
        """Lower-case names of the headers this credential sets (dropped on a redirect to
        another origin)."""
        if self.type in ("bearer", "basic"):
            return frozenset({"authorization"})
        if self.type == "header":
            return frozenset({self.meta["header"].lower()})
        return frozenset()

    def secret_strings(self) -> list[str]:
        """The secret values as sent, and Basic's base64 pair."""
        plain = [str(value) for value in self.secret.values() if str(value)]
        if self.type == "basic":
            pair = f"{self.meta['username']}:{self.secret['password']}".encode()
            plain.append(base64.b64encode(pair).decode())
        return plain

    @cached_property
    def _patterns(self) -> list[re.Pattern[str]]:
        return [_encoded_forms(secret) for secret in self.secret_strings()]

    def redact(self, value: Any) -> Any:
        """`value` (strings inside dicts and lists too) with every echoed form of the secret
        replaced: as sent, JSON-escaped, and percent- or form-encoded in any mix."""
        if isinstance(value, str):
            for pattern in self._patterns:
                value = pattern.sub(REDACTED, value)
            return value
        if isinstance(value, dict):
            return {self.redact(key): self.redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        return value


def _encoded_forms(secret: str) -> re.Pattern[str]:
    """A pattern matching `secret` with each character literal or percent-encoded (either
    case of hex digits; `+` for a space), or the whole secret JSON-escaped."""
    parts = []
    for char in secret:
        encoded = "".join(f"%[{h[0]}{h[0].lower()}][{h[1]}{h[1].lower()}]"
                          for h in (f"{byte:02X}" for byte in char.encode()))
        forms = [re.escape(char), encoded, *([r"\+"] if char == " " else [])]
        parts.append("(?:" + "|".join(forms) + ")")
    escaped = json.dumps(secret)[1:-1]
    whole = "".join(parts)
    return re.compile(whole if escaped == secret else f"{whole}|{re.escape(escaped)}")


@dataclass
class Executor:
    """Implements `walker.Ports` for one order activation."""

    caller: HttpCaller | None
    specs: Mapping[str, ApiCallSpec]
    credentials: Mapping[str, CredentialValue]
    mock: bool = False
    stored_response_bytes: int = 16_384
    clock: Callable[[], datetime] = field(default=utcnow)
    fan: ChildOrders | None = None
    limiter: Limiter | None = None  # the API calls' rate limits and in-flight caps

    def now(self) -> datetime:
        return self.clock()

    async def children(self, batch: ChildBatch) -> ChildProgress:
        if self.fan is None:
            raise PermanentStepError("no_children", "Child orders cannot be started here.")
        return await self.fan.progress(batch)

    def function(self, name: str) -> Callable[..., Any]:
        if name not in REGISTRY:
            raise PermanentStepError("unknown_function", f"No function named {name!r}.")
        return REGISTRY[name]

    def retry_policy(self, api_call_id: str) -> RetryPolicy:
        spec = self.specs.get(api_call_id)
        return spec.retry if spec else RetryPolicy(max_attempts=1)

    async def call_api(self, api_call_id: str, args: dict[str, Any], scope: dict[str, Any],
                       node: Node) -> ApiResult:
        spec = self.specs.get(api_call_id)
        if spec is None:
            raise PermanentStepError("unknown_api_call", f"No API call with id {api_call_id!r}.")
        request, recorded = self.build(spec, scope | {"args": args, "node": {"id": node.id}})
        if self.mock:
            return self.mocked(spec, recorded)
        credential = self.credentials.get(spec.credential or "")
        if self.caller is None:
            raise PermanentStepError("no_http", "No HTTP client in this context.")
        limited = self.limiter is not None and (spec.rate_limit or spec.max_in_flight)
        try:
            async with self.limiter.admit(spec) if limited else contextlib.nullcontext():  # type: ignore[union-attr]
                answer = await self.caller.send(
                    request, spec.timeout_s, credential.header_names if credential else frozenset())
        except StepError as exc:
            if credential is not None:
                exc.message = credential.redact(exc.message)
                exc.args = (exc.message,)
            raise
        response = _redacted({"status": answer.status, "headers": answer.headers,
                              "body": answer.body}, credential)
        stored = self._capped(response)
        recorded["elapsed_ms"] = round(answer.elapsed_ms, 2)
        classify(answer.status, answer.headers, spec.success_status,
                 {"request": recorded, "response": stored})
        return ApiResult(recorded, response, stored)

    def build(self, spec: ApiCallSpec, scope: dict[str, Any]) -> tuple[httpx.Request, dict]:
        url = str(expressions.render(spec.url, scope))
        headers = {key: _header_value(key, expressions.render(value, scope))
                   for key, value in spec.headers.items()}
        query = {key: value for key, value in expressions.render(spec.query, scope).items()
                 if value is not None}
        headers["Idempotency-Key"] = _header_value("Idempotency-Key",
                                                   expressions.render(spec.idempotency_key, scope))
        body = expressions.render(spec.body, scope)
        recorded = {"method": spec.method, "url": url, "query": dict(query),
                    "headers": _redact_headers(headers), "body": body,
                    "credential": spec.credential}
        credential = self.credentials.get(spec.credential or "")
        if spec.credential and credential is None and not self.mock:
            raise PermanentStepError("unknown_credential", f"No credential {spec.credential!r}.")
        if credential is not None:
            credential.apply(headers, query)
        content = body if isinstance(body, str) else None
        try:
            target = httpx.URL(url).copy_merge_params(query) if query else url
            request = httpx.Request(spec.method, target, headers=headers,
                                    content=content, json=None if content or body is None else body)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, TypeError, ValueError) as exc:
            raise PermanentStepError("bad_url", f"Cannot build the request to {url!r}: {exc}") from exc
        return request, recorded

    def mocked(self, spec: ApiCallSpec, recorded: dict[str, Any]) -> ApiResult:
        if spec.mock is None:
            raise PermanentStepError("no_mock", f"API call {spec.id!r} has no mock response.")
        response = spec.mock.model_dump(mode="json")
        recorded["mocked"] = True
        classify(response["status"], response["headers"], spec.success_status,
                 {"request": recorded, "response": response})
        return ApiResult(recorded, response, response)

    def _capped(self, response: dict[str, Any]) -> dict[str, Any]:
        """The response as step history keeps it: the body size-capped."""
        body = json.dumps(response["body"], default=str)
        if len(body) <= self.stored_response_bytes:
            return response
        return response | {"body": {"truncated": True, "bytes": len(body),
                                    "preview": body[: self.stored_response_bytes]}}


def _header_value(name: str, value: Any) -> str:
    """A header as sent; a rendered value with a line break or control character (which
    would split the request, or which the HTTP client refuses) is a permanent step error."""
    if not HEADER_NAME.match(name):
        raise PermanentStepError("bad_header", f"{name!r} is not a valid header name.")
    text = str(value)
    if HEADER_VALUE_FORBIDDEN.search(text):
        raise PermanentStepError("bad_header", f"The {name} header would contain a line break "
                                 f"or control character: {text[:80]!r}.")
    return text


def _redacted(response: dict[str, Any], credential: CredentialValue | None) -> dict[str, Any]:
    """A response with the credential's secret (in any echoed form) replaced: neither `save`
    nor step history ever sees it."""
    return response if credential is None else credential.redact(response)


def _redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {key: REDACTED if key.lower() in SENSITIVE_HEADERS else value
            for key, value in headers.items()}
