"""The outbound caller on both of its clients (aiohttp, the worker's default, and httpx)
against a real server on a loopback port: the two behave alike."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from backend.engine.errors import PermanentStepError, TransientStepError
from backend.orders.outbound import make_caller
from tests.conftest import served

SEEN: list[dict] = []


async def _echo(request: Request) -> Response:
    body = await request.body()
    SEEN.append({"path": request.url.path, "method": request.method, "body": body,
                 "headers": dict(request.headers)})
    return JSONResponse({"path": request.url.path, "method": request.method})


async def _redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], int(request.query_params["status"]))


async def _cookie(request: Request) -> Response:
    response = JSONResponse({"cookie": request.headers.get("cookie")})
    response.set_cookie("session", "order-one")
    return response


async def _repeated(request: Request) -> Response:
    response = Response(b"{}", media_type="application/json")
    response.headers.append("X-Tag", "a")
    response.headers.append("X-Tag", "b")
    return response


async def _big(request: Request) -> Response:
    async def chunks():
        for _ in range(4):
            yield b"x" * 3000

    return StreamingResponse(chunks(), media_type="text/plain")  # no Content-Length


async def _slow(request: Request) -> Response:
    await asyncio.sleep(2)
    return Response(b"late")


async def _zipped(request: Request) -> Response:
    return Response(gzip.compress(json.dumps({"packed": True}).encode()),
                    media_type="application/json", headers={"Content-Encoding": "gzip"})


APP = Starlette(routes=[Route("/redirect", _redirect, methods=["GET", "POST"]),
                        Route("/cookie", _cookie), Route("/repeated", _repeated),
                        Route("/big", _big), Route("/slow", _slow), Route("/zipped", _zipped),
                        Route("/{path:path}", _echo, methods=["GET", "POST"])])
TRANSPORTS = pytest.mark.parametrize("transport", ["aiohttp", "httpx"])


def caller(transport: str, max_bytes: int = 10_000):
    return make_caller(transport=transport, allow=["127.0.0.1"], max_response_bytes=max_bytes)


@TRANSPORTS
async def test_redirects_keep_or_drop_body_and_credential_as_they_should(transport):
    SEEN.clear()
    async with served(APP) as here, served(APP) as there, caller(transport) as http:
        hop = f"{there}/redirect?status=303&to={there}/landed"
        request = httpx.Request("POST", f"{here}/redirect", params={"status": 307, "to": hop},
                                json={"x": 1}, headers={"Authorization": "Bearer t0k3n"})
        answer = await http.send(request, 5)
    assert (answer.status, answer.body) == (200, {"path": "/landed", "method": "GET"})
    assert [(seen["path"], seen["method"]) for seen in SEEN] == [("/landed", "GET")]
    assert "authorization" not in SEEN[0]["headers"]  # another origin
    assert SEEN[0]["headers"]["host"] == there.split("/")[2]


@TRANSPORTS
async def test_no_cookie_one_response_set_reaches_a_later_call(transport):
    async with served(APP) as here, caller(transport) as http:
        first = await http.send(httpx.Request("GET", f"{here}/cookie"), 5)
        second = await http.send(httpx.Request("GET", f"{here}/cookie"), 5)
    assert "session=order-one" in first.headers["set-cookie"]
    assert second.body == {"cookie": None}


@TRANSPORTS
async def test_headers_bodies_and_encodings_arrive_alike(transport):
    async with served(APP) as here, caller(transport) as http:
        repeated = await http.send(httpx.Request("GET", f"{here}/repeated"), 5)
        zipped = await http.send(httpx.Request("GET", f"{here}/zipped"), 5)
        posted = await http.send(httpx.Request("POST", f"{here}/a/b%20c?q=1", content=b"raw"), 5)
    assert repeated.headers["x-tag"] == "a, b"
    assert zipped.body == {"packed": True}
    assert posted.body == {"path": "/a/b c", "method": "POST"}


@TRANSPORTS
async def test_a_streamed_body_over_the_cap_is_refused(transport):
    async with served(APP) as here, caller(transport) as http, caller(transport, 12_000) as roomy:
        with pytest.raises(PermanentStepError) as caught:
            await http.send(httpx.Request("GET", f"{here}/big"), 5)
        assert caught.value.code == "response_too_large"
        assert (await roomy.send(httpx.Request("GET", f"{here}/big"), 5)).body == "x" * 12_000


@TRANSPORTS
async def test_no_answer_in_time_is_a_timeout(transport):
    async with served(APP) as here, caller(transport) as http:
        with pytest.raises(TransientStepError) as caught:
            await http.send(httpx.Request("GET", f"{here}/slow"), 0.3)
    assert caught.value.code == "timeout"
    assert caught.value.message.endswith("within 0.3 s.")
