"""The walker's ports for real runs: API calls over HTTP (or mocked), functions, the clock."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from backend.api_calls.schemas import ApiCallSpec
from backend.blueprints.schemas import Node, RetryPolicy
from backend.db import utcnow
from backend.engine import expressions
from backend.engine.errors import PermanentStepError
from backend.engine.functions import REGISTRY
from backend.engine.http import HttpCaller, classify
from backend.engine.walker import ApiResult

SENSITIVE_HEADERS = ("authorization", "cookie", "proxy-authorization", "x-api-key")
REDACTED = "[redacted]"


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

    def secret_strings(self) -> list[str]:
        """Every form the secret can be echoed back in."""
        found = [str(value) for value in self.secret.values() if str(value)]
        if self.type == "basic":
            pair = f"{self.meta['username']}:{self.secret['password']}".encode()
            found.append(base64.b64encode(pair).decode())
        return found


@dataclass
class Executor:
    """Implements `walker.Ports` for one order activation."""

    caller: HttpCaller | None
    specs: Mapping[str, ApiCallSpec]
    credentials: Mapping[str, CredentialValue]
    mock: bool = False
    stored_response_bytes: int = 16_384
    clock: Callable[[], datetime] = field(default=utcnow)

    def now(self) -> datetime:
        return self.clock()

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
        request, recorded = self._build(spec, scope | {"args": args, "node": {"id": node.id}})
        if self.mock:
            return self._mocked(spec, recorded)
        credential = self.credentials.get(spec.credential or "")
        if self.caller is None:
            raise PermanentStepError("no_http", "No HTTP client in this context.")
        answer = await self.caller.send(request, spec.timeout_s)
        response = _redacted({"status": answer.status, "headers": answer.headers,
                              "body": answer.body}, credential)
        stored = self._capped(response)
        recorded["elapsed_ms"] = round(answer.elapsed_ms, 2)
        classify(answer.status, answer.headers, spec.success_status,
                 {"request": recorded, "response": stored})
        return ApiResult(recorded, response, stored)

    def _build(self, spec: ApiCallSpec, scope: dict[str, Any]) -> tuple[httpx.Request, dict]:
        url = str(expressions.render(spec.url, scope))
        headers = {key: str(expressions.render(value, scope)) for key, value in spec.headers.items()}
        query = {key: value for key, value in expressions.render(spec.query, scope).items()
                 if value is not None}
        headers["Idempotency-Key"] = str(expressions.render(spec.idempotency_key, scope))
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

    def _mocked(self, spec: ApiCallSpec, recorded: dict[str, Any]) -> ApiResult:
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


def _redacted(response: dict[str, Any], credential: CredentialValue | None) -> dict[str, Any]:
    """A response with the credential's secret (in any echoed form) replaced: neither `save`
    nor step history ever sees it."""
    if credential is None:
        return response
    text = json.dumps(response, default=str)
    for secret in credential.secret_strings():
        text = text.replace(json.dumps(secret)[1:-1], REDACTED)
    return json.loads(text)


def _redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {key: REDACTED if key.lower() in SENSITIVE_HEADERS else value
            for key, value in headers.items()}
