"""Request bodies: size-capped (Content-Length and while streaming) and, for JSON, free of
values the databases cannot keep (NaN/Infinity, NUL characters, lone surrogates)."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.errors import error_body

WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
TOO_DEEP = "the JSON is nested too deeply"


class BodyTooLarge(Exception):
    pass


class UnstorableJSON(ValueError):
    pass




def _reject_constant(name: str) -> float:
    raise UnstorableJSON(f"{name} is not a number JSON databases can store")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnstorableJSON(f"{text} is too large to store")
    return value


def json_problem(raw: bytes) -> str | None:
    """Why a JSON body cannot be stored as it is, or None (malformed JSON is left to FastAPI)."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite)
        _check_strings(value)
    except UnstorableJSON as exc:
        return str(exc)
    except RecursionError:
        return TOO_DEEP
    except ValueError:
        return None
    return None


def _check_strings(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise UnstorableJSON("a string contains a NUL character (\\u0000)")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise UnstorableJSON("a string contains a lone surrogate") from exc


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        try:
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise BodyTooLarge
            body = await self._read(receive)
        except BodyTooLarge:
            await _answer(send, 413, "payload_too_large",
                          f"The request body is larger than {self.max_bytes} bytes.")
            return
        if b"json" in headers.get(b"content-type", b"") and (problem := json_problem(body)):
            if problem == TOO_DEEP:
                await _answer(send, 400, "malformed_json", f"The request body is not usable: {problem}.")
            else:
                await _answer(send, 422, "invalid", f"The JSON body cannot be stored: {problem}.")
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, status: int, type_: str, detail: str) -> None:
    body = json.dumps(error_body(type_, detail)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
