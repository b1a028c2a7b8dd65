"""Outbound HTTP for api_call steps (the worker's, and try-it's, `HttpCaller`): destination
checks, redirects, size caps, transport errors. The walker never sees it: the `Executor`
(`backend.orders.executor`) sends through it.

Every address that is not globally routable (private, loopback, link-local, carrier-grade
NAT, reserved, multicast, and IPv6 forms that embed such an IPv4 address: mapped, 6to4,
Teredo, NAT64) is refused on the *resolved* address, again at connect time and on every
redirect, unless allow-listed by host, host:port or CIDR. A redirect to another origin
(scheme, host or port) carries no credential.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from errno import ECONNREFUSED
from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.parse import urljoin

import aiohttp
import aiohttp.abc
import httpx
import yarl

from backend.engine.errors import PermanentStepError, StepError, TransientStepError

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def make_caller(*, transport: str, allow: list[str], max_response_bytes: int) -> HttpCaller:
    """The one way to build the outbound caller: the worker's and try-it's are the same."""
    policy = OutboundPolicy(allow)
    return HttpCaller(make_client(transport, policy), policy, max_response_bytes)


def make_client(transport: str = "aiohttp",
                policy: OutboundPolicy | None = None) -> httpx.AsyncClient | aiohttp.ClientSession:
    """The one shared client of a worker: aiohttp's (several times cheaper per call than
    httpx's, and called directly: httpx on aiohttp's transport cost twice aiohttp alone), or
    httpx's. With a policy, the aiohttp connector checks the addresses it actually connects
    to, so a name that resolves differently the second time (DNS rebinding) is refused as
    well. Neither keeps cookies: one order's session cookie must never reach another's call."""
    if transport == "aiohttp":
        resolver = GuardedResolver(policy) if policy else None
        connector = aiohttp.TCPConnector(limit=200, resolver=resolver)
        return aiohttp.ClientSession(connector=connector, trust_env=False,
                                     cookie_jar=aiohttp.DummyCookieJar())
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    return httpx.AsyncClient(limits=limits, trust_env=False, cookies=_NoCookies())


class _NoCookies(CookieJar):
    """httpx's client would keep every response's cookies for all later requests."""

    def set_cookie(self, cookie: Cookie) -> None:
        pass


class RefusedAddress(OSError):
    """Raised inside aiohttp's connector; surfaces as a permanent `destination_refused`."""


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, refusing private addresses the policy does not allow."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self.inner = aiohttp.DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"])
            if _is_private(address) and not self.policy._allowed(host, port, address):
                raise RefusedAddress(f"{host} resolves to {address}, which is not a public "
                                     "address (add it to OUTBOUND_ALLOW to permit it).")
        return results

    async def close(self) -> None:
        await self.inner.close()


class OutboundPolicy:
    """Which destinations calls may reach."""

    def __init__(self, allow: list[str]) -> None:
        self.hosts: set[tuple[str, int | None]] = set()  # (host, port or any)
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self.hosts.add(_host_port(entry))

    def _allowed(self, host: str, port: int, address: IPAddress) -> bool:
        names = {host.lower().strip("[]"), str(address)}
        if any((name, None) in self.hosts or (name, port) in self.hosts for name in names):
            return True
        return any(address in network for network in self.networks)

    async def check(self, url: httpx.URL) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise PermanentStepError("bad_url", f"Only http(s) URLs can be called, not {url}.")
        port = url.port or (443 if url.scheme == "https" else 80)
        for address in await _resolve(url.host, port):
            if _is_private(address) and not self._allowed(url.host, port, address):
                raise PermanentStepError(
                    "destination_refused",
                    f"{url.host} resolves to {address}, which is not a public address "
                    "(add it to OUTBOUND_ALLOW to permit it).")


def _host_port(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address, lower-cased."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return entry, None


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _is_private(address: IPAddress) -> bool:
    """Anything that is not a globally routable unicast address, or that embeds one that is
    not (`::ffff:10.0.0.1`, 6to4 `2002:a9fe:a9fe::`, Teredo, NAT64 `64:ff9b::a9fe:a9fe`)."""
    return any(not candidate.is_global or candidate.is_multicast
               for candidate in (address, *_embedded_ipv4(address)))


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in network for network in NAT64) or int(address) >> 32 == 0:
        found.append(low)  # NAT64, and the deprecated IPv4-compatible ::a.b.c.d
    return [candidate for candidate in found if candidate is not None]


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientStepError("dns", f"Cannot resolve {host}: {exc}") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any
    elapsed_ms: float


class HttpCaller:
    def __init__(self, client: httpx.AsyncClient | aiohttp.ClientSession, policy: OutboundPolicy,
                 max_response_bytes: int) -> None:
        self.client = client
        self.policy = policy
        self.max_response_bytes = max_response_bytes
        self._once = self._aiohttp if isinstance(client, aiohttp.ClientSession) else self._httpx

    async def aclose(self) -> None:
        if isinstance(self.client, aiohttp.ClientSession):
            await self.client.close()
        else:
            await self.client.aclose()

    async def __aenter__(self) -> HttpCaller:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def send(self, request: httpx.Request, timeout_s: float,
                   secret_headers: frozenset[str] = frozenset()) -> HttpResponse:
        """Send with redirects followed by hand so that each hop is checked; `secret_headers`
        (lower-case names a credential set) are dropped with a change of origin."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(MAX_REDIRECTS + 1):
            await self.policy.check(request.url)
            try:
                status, headers, raw = await self._once(request, timeout_s)
            except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as exc:
                raise _transport_error(exc, request.url, timeout_s) from exc
            location = headers.get("location")
            if status not in (301, 302, 303, 307, 308) or not location:
                body = _decode(raw, headers.get("content-type", ""))
                return HttpResponse(status, headers, body, (loop.time() - started) * 1000)
            request = _redirected(request, status, location, secret_headers)
        raise PermanentStepError("too_many_redirects", f"More than {MAX_REDIRECTS} redirects.")

    async def _httpx(self, request: httpx.Request, timeout_s: float) -> tuple[int, dict, bytes]:
        assert isinstance(self.client, httpx.AsyncClient)
        request.extensions["timeout"] = httpx.Timeout(timeout_s).as_dict()
        response = await self.client.send(request, stream=True)
        try:
            self._check_declared(response.headers.get("content-length", ""))
            raw = await self._read_capped(response.aiter_bytes())
        finally:
            await response.aclose()
        return response.status_code, _joined(response.headers.items()), raw

    async def _aiohttp(self, request: httpx.Request, timeout_s: float) -> tuple[int, dict, bytes]:
        assert isinstance(self.client, aiohttp.ClientSession)
        timeout = aiohttp.ClientTimeout(connect=timeout_s, sock_connect=timeout_s,
                                        sock_read=timeout_s)
        async with self.client.request(
                request.method, yarl.URL(str(request.url), encoded=True),
                headers=request.headers, data=request.content or None, allow_redirects=False,
                timeout=timeout) as response:
            self._check_declared(response.headers.get("content-length", ""))
            raw = await self._read_capped(response.content.iter_chunked(CHUNK_BYTES))
            return response.status, _joined(response.headers.items()), raw

    def _check_declared(self, declared: str) -> None:
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise PermanentStepError("response_too_large", f"Response of {declared} bytes.")

    async def _read_capped(self, chunks: AsyncIterator[bytes]) -> bytes:
        """The (decoded) body, refused once it grows over the cap."""
        kept, size = [], 0
        async for chunk in chunks:
            size += len(chunk)
            if size > self.max_response_bytes:
                raise PermanentStepError(
                    "response_too_large", f"Response over {self.max_response_bytes} bytes.")
            kept.append(chunk)
        return b"".join(kept)


def _joined(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased, a repeated header's values joined with commas."""
    headers: dict[str, str] = {}
    for key, value in items:
        name = key.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _transport_error(exc: Exception, url: httpx.URL, timeout_s: float) -> StepError:
    """What went wrong, in words: the cause decides, not the class (aiohttp reports a refused
    connection and a refused address as connector errors)."""
    where = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, RefusedAddress):
            return PermanentStepError("destination_refused", str(cause))
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", 0) == ECONNREFUSED:
            return TransientStepError("connection_refused", f"{where} refused the connection.")
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return TransientStepError("timeout", f"No answer from {where} within {timeout_s} s.")
    return TransientStepError("connection", f"{type(exc).__name__}: {exc}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


def _redirected(request: httpx.Request, status: int, location: str,
                secret_headers: frozenset[str] = frozenset()) -> httpx.Request:
    """The next hop: `Host` from the new URL, and no credential on a change of origin."""
    url = httpx.URL(urljoin(str(request.url), location))
    keep_body = status in (307, 308)
    method = request.method if keep_body or request.method == "HEAD" else "GET"
    dropped = {"host", "content-length"} | (set() if keep_body else {"content-type"})
    if _origin(url) != _origin(request.url):
        dropped |= CREDENTIAL_HEADERS | secret_headers
    headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
    return httpx.Request(method, url, headers=headers,
                         content=request.content if keep_body else None)


def _decode(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type or text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text
