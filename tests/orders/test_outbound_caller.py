"""Outbound HTTP (`backend.orders.outbound`): the destination policy (checked on the resolved
address and on every redirect), size caps and transport errors. The HTTP layer is driven
through `httpx.MockTransport`; no server is needed. (How a status is classified, with
Retry-After: `tests/engine/test_errors.py`.)"""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from backend.engine.errors import PermanentStepError, TransientStepError
from backend.orders.outbound import HttpCaller, OutboundPolicy

PUBLIC = "http://93.184.216.34"  # an IP literal: no DNS needed


async def refused(policy: OutboundPolicy, url: str) -> str:
    with pytest.raises(PermanentStepError) as caught:
        await policy.check(httpx.URL(url))
    return caught.value.code


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/", "http://localhost:8080/", "http://10.1.2.3/", "http://192.168.0.9/",
    "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0:80/",
    "http://[::1]:8080/", "http://[fe80::1]/", "http://[fd00::1]/", "http://224.0.0.1/",
    "http://[::ffff:127.0.0.1]:8080/", "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/", "http://127.1/", "http://2130706433/",
])
async def test_private_loopback_and_link_local_destinations_are_refused(url):
    assert await refused(OutboundPolicy([]), url) == "destination_refused"


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/x", "file:///etc/passwd"])
async def test_only_http_urls_can_be_called(url):
    assert await refused(OutboundPolicy([]), url) == "bad_url"


@pytest.mark.parametrize("url", [PUBLIC + "/", "https://93.184.216.34:8443/x",
                                 "http://[2606:2800:220:1:248:1893:25c8:1946]/",
                                 "http://[::ffff:93.184.216.34]/"])
async def test_public_destinations_pass(url):
    await OutboundPolicy([]).check(httpx.URL(url))


async def test_a_cidr_allows_its_addresses_on_any_port():
    policy = OutboundPolicy(["10.0.0.0/8"])
    for url in ("http://10.1.2.3/", "http://10.255.0.1:9000/x"):
        await policy.check(httpx.URL(url))
    assert await refused(policy, "http://192.168.0.1/") == "destination_refused"
    assert await refused(policy, "http://127.0.0.1/") == "destination_refused"


async def test_host_port_allows_that_port_only():
    policy = OutboundPolicy(["127.0.0.1:8080", "localhost:9090"])
    await policy.check(httpx.URL("http://127.0.0.1:8080/x"))
    await policy.check(httpx.URL("http://localhost:9090/"))
    for url in ("http://127.0.0.1:8081/", "http://127.0.0.1/", "http://localhost:8081/",
                "http://127.0.0.1:9090/", "http://[::ffff:127.0.0.1]:8080/"):
        assert await refused(policy, url) == "destination_refused", url


async def test_a_bare_host_allows_every_port():
    policy = OutboundPolicy(["LocalHost"])
    await policy.check(httpx.URL("http://localhost:1234/"))
    await policy.check(httpx.URL("http://localhost/"))


async def test_ipv6_loopback_is_allowed_by_address_or_network():
    for allow in (["::1"], ["::1/128"]):
        await OutboundPolicy(allow).check(httpx.URL("http://[::1]:8080/"))
    assert await refused(OutboundPolicy(["127.0.0.1"]), "http://[::1]/") == "destination_refused"


async def test_ipv6_host_port_allows_that_port_only():
    policy = OutboundPolicy(["[::1]:8080"])
    await policy.check(httpx.URL("http://[::1]:8080/"))
    assert await refused(policy, "http://[::1]:8081/") == "destination_refused"


async def test_ipv4_mapped_ipv6_is_judged_as_the_ipv4_address():
    policy = OutboundPolicy([])
    assert await refused(policy, "http://[::ffff:7f00:1]/") == "destination_refused"
    await policy.check(httpx.URL("http://[::ffff:5db8:d822]/"))  # 93.184.216.34


# -- HttpCaller through a mock transport --------------------------------------------------


class Recorder:
    """A mock server: answers from a table of routes and records what it was sent."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        key = f"{request.method} {request.url}"
        return self.routes.get(key) or self.routes.get(str(request.url)) or httpx.Response(404)


def caller(handler, allow=(), max_bytes=10_000) -> HttpCaller:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return HttpCaller(client, OutboundPolicy(list(allow)), max_bytes)


def redirect(location: str, status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"Location": location})


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data",
                                    "http://127.0.0.1:8081/admin", "http://[::1]/",
                                    "http://[::ffff:10.0.0.1]/"])
async def test_a_redirect_to_a_private_address_is_refused(target):
    server = Recorder({f"{PUBLIC}/start": redirect(target)})
    with pytest.raises(PermanentStepError) as caught:
        await caller(server).send(httpx.Request("GET", f"{PUBLIC}/start"), 5)
    assert caught.value.code == "destination_refused"
    assert [str(request.url) for request in server.seen] == [f"{PUBLIC}/start"]


async def test_an_allowed_host_cannot_redirect_to_another_port():
    server = Recorder({"http://127.0.0.1:8080/go": redirect("http://127.0.0.1:8081/")})
    with pytest.raises(PermanentStepError) as caught:
        await caller(server, ["127.0.0.1:8080"]).send(
            httpx.Request("GET", "http://127.0.0.1:8080/go"), 5)
    assert caught.value.code == "destination_refused"
    assert len(server.seen) == 1


async def test_redirects_are_followed_by_hand():
    server = Recorder({
        f"POST {PUBLIC}/a": redirect("/b", 307),
        f"POST {PUBLIC}/b": redirect("http://93.184.216.35/c", 303),
        "GET http://93.184.216.35/c": httpx.Response(200, json={"ok": True}),
    })
    request = httpx.Request("POST", f"{PUBLIC}/a", json={"x": 1},
                            headers={"Authorization": "Bearer t0k3n", "Idempotency-Key": "o:n"})
    answer = await caller(server).send(request, 5)
    assert (answer.status, answer.body) == (200, {"ok": True})
    first, second, third = server.seen
    assert (second.method, json.loads(second.content)) == ("POST", {"x": 1})  # 307 keeps it
    assert second.headers["authorization"] == "Bearer t0k3n"  # same host
    assert (third.method, third.content) == ("GET", b"")  # 303 turns into GET
    assert "authorization" not in third.headers  # another host: the credential stays home
    assert third.headers["idempotency-key"] == "o:n"


async def test_too_many_redirects():
    server = Recorder({f"{PUBLIC}/loop": redirect("/loop")})
    with pytest.raises(PermanentStepError) as caught:
        await caller(server).send(httpx.Request("GET", f"{PUBLIC}/loop"), 5)
    assert caught.value.code == "too_many_redirects"
    assert len(server.seen) == 6


async def test_a_response_over_the_cap_is_refused_declared_or_streamed():
    big = b"x" * 10_001

    async def stream():
        yield big[:6000]
        yield big[6000:]

    declared = Recorder({f"{PUBLIC}/d": httpx.Response(200, content=big)})
    streamed = Recorder({f"{PUBLIC}/s": httpx.Response(200, content=stream())})
    for server, path in ((declared, "/d"), (streamed, "/s")):
        with pytest.raises(PermanentStepError) as caught:
            await caller(server).send(httpx.Request("GET", PUBLIC + path), 5)
        assert caught.value.code == "response_too_large"
    ok = Recorder({f"{PUBLIC}/ok": httpx.Response(200, content=b"x" * 10_000)})
    assert (await caller(ok).send(httpx.Request("GET", f"{PUBLIC}/ok"), 5)).body == "x" * 10_000


@pytest.mark.parametrize(("raised", "code"), [(httpx.ReadTimeout("slow"), "timeout"),
                                              (httpx.ConnectTimeout("slow"), "timeout"),
                                              (httpx.ConnectError("refused"), "connection"),
                                              (httpx.RemoteProtocolError("eof"), "connection")])
async def test_network_failures_are_transient(raised, code):
    def handler(request):
        raise raised

    with pytest.raises(TransientStepError) as caught:
        await caller(handler).send(httpx.Request("GET", PUBLIC), 0.5)
    assert caught.value.code == code


async def test_bodies_are_decoded_as_json_or_text():
    server = Recorder({
        f"{PUBLIC}/json": httpx.Response(200, json=[1, 2]),
        f"{PUBLIC}/untyped": httpx.Response(200, content=b'{"a": 1}'),
        f"{PUBLIC}/text": httpx.Response(200, text="hello", headers={"X-Trace": "abc"}),
        f"{PUBLIC}/broken": httpx.Response(200, content=b"{not json",
                                           headers={"Content-Type": "application/json"}),
    })
    http = caller(server)
    bodies = [(await http.send(httpx.Request("GET", f"{PUBLIC}/{path}"), 5)).body
              for path in ("json", "untyped", "text", "broken")]
    assert bodies == [[1, 2], {"a": 1}, "hello", "{not json"]
    answer = await http.send(httpx.Request("GET", f"{PUBLIC}/text"), 5)
    assert answer.headers["x-trace"] == "abc"  # header names lower-cased


async def test_the_connector_refuses_a_name_that_resolves_to_a_private_address():
    """DNS rebinding: the address connected to is checked, not only the one checked first."""
    from backend.orders.outbound import GuardedResolver

    resolver = GuardedResolver(OutboundPolicy([]))
    with pytest.raises(OSError, match="resolves to 127.0.0.1"):
        await resolver.resolve("localhost", 80)
    allowed = GuardedResolver(OutboundPolicy(["localhost:80"]))
    assert {r["host"] for r in await allowed.resolve("localhost", 80, socket.AF_INET)} == {"127.0.0.1"}
    await resolver.close()
    await allowed.close()


@pytest.mark.parametrize("url", [
    "http://100.64.0.1/", "http://100.100.100.200/latest/meta-data",  # carrier-grade NAT
    "http://198.18.0.1/",  # benchmarking
    "http://[2002:a9fe:a9fe::]/", "http://[2002:7f00:1::]/",  # 6to4 of 169.254.169.254, 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[2001:0:4136:e378:8000:63bf:f5fe:fffe]/",  # Teredo, client 10.1.0.1
    "http://[::a9fe:a9fe]/",  # IPv4-compatible
    "http://[ff02::1]/", "http://239.1.1.1/",
])
async def test_every_address_that_is_not_global_is_refused(url):
    assert await refused(OutboundPolicy([]), url) == "destination_refused"


@pytest.mark.parametrize("url", ["http://[2002:5db8:d822::]/", "http://[64:ff9b::5db8:d822]/"])
async def test_embedded_public_addresses_pass(url):
    await OutboundPolicy([]).check(httpx.URL(url))  # 93.184.216.34, by 6to4 and NAT64


@pytest.mark.parametrize("target", [
    "http://93.184.216.34:8080/landed",  # another port
    "https://93.184.216.34/landed",  # another scheme
    "http://93.184.216.35/landed",  # another host
])
async def test_a_redirect_to_another_origin_drops_every_credential_header(target):
    server = Recorder({f"{PUBLIC}/go": redirect(target), target: httpx.Response(200)})
    request = httpx.Request("GET", f"{PUBLIC}/go", headers={
        "Authorization": "Bearer t0k3n", "X-Api-Key": "k3y", "Cookie": "c=1", "X-Trace": "t"})
    await caller(server).send(request, 5, frozenset({"x-api-key"}))
    landed = server.seen[-1]
    assert str(landed.url) == target
    assert not {"authorization", "x-api-key", "cookie"} & set(landed.headers.keys())
    assert landed.headers["x-trace"] == "t"
    assert landed.headers["host"] == httpx.URL(target).netloc.decode()


async def test_a_redirect_within_the_origin_keeps_the_credential():
    server = Recorder({f"{PUBLIC}/go": redirect("/there"), f"{PUBLIC}/there": httpx.Response(200)})
    request = httpx.Request("GET", f"{PUBLIC}/go", headers={"X-Api-Key": "k3y"})
    await caller(server).send(request, 5, frozenset({"x-api-key"}))
    assert server.seen[-1].headers["x-api-key"] == "k3y"


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_refused_connection_says_so(transport):
    from backend.core.embedded_redis import free_port
    from backend.orders.outbound import make_caller

    port = free_port()
    async with make_caller(transport=transport, allow=["127.0.0.1"],
                           max_response_bytes=1000) as http:
        with pytest.raises(TransientStepError) as caught:
            await http.send(httpx.Request("GET", f"http://127.0.0.1:{port}/"), 5)
    assert caught.value.code == "connection_refused"
    assert caught.value.message == f"127.0.0.1:{port} refused the connection."


async def test_an_address_refused_at_connect_time_is_a_permanent_refusal():
    from backend.orders.outbound import RefusedAddress, _transport_error

    inner = RefusedAddress("rebound.example resolves to 127.0.0.1, which is not a public address")
    outer = httpx.ConnectError("Cannot connect")
    outer.__cause__ = OSError(inner)
    outer.__cause__.__cause__ = inner
    error = _transport_error(outer, httpx.URL("http://rebound.example/"), 5)
    assert (type(error), error.code) == (PermanentStepError, "destination_refused")
