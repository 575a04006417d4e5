"""Execute one ``request`` step with httpx: every hop (redirects included) passes the network guard,
then the response is checked against the step's expectations and values are extracted (in a worker process
that is stopped when the step's time is up: ``shared/apitests/checks.py``).

The guard resolves a hostname to check it; httpx must then connect to one of *those* addresses, never to a
fresh resolution (which a hostile DNS server could answer differently: DNS rebinding). ``guarded_client``
builds a client whose connections are pinned to the addresses the guard checked for the host and port; the
URL, the ``Host`` header and TLS (SNI and certificate checks against the hostname) are unchanged.

The step is expected to be rendered already (placeholders replaced); secrets are the caller's to mask (give
``clip`` to mask what is shown of the response before it is cut short).
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import httpcore
import httpx
from aiolimiter import AsyncLimiter

from shared.apitests.checks import ResponseChecker
from shared.apitests.expectations import Clip, Outcome, cut
from shared.apitests.response import HttpResult, RequestFailed
from shared.models.plans import Request
from shared.netguard import NetworkGuard
from shared.wording import connect_error, seconds

MAX_REDIRECTS = 10
MAX_BODY_BYTES = 10 * 1024 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SENSITIVE = ("authorization", "cookie", "proxy-authorization")


@dataclass
class RequestOutcome:
    """A request step's last try: its response, the values it extracted, every check's outcome (the
    error-status rule, the expectations, the extraction) and how many tries it took (``retry``)."""

    result: HttpResult
    variables: dict[str, Any]
    checks: list[Outcome] = field(default_factory=list)
    tries: int = 1
    #: why the tries stopped before the checks passed (the step's time ran out), or None
    gave_up: str | None = None

    @property
    def failures(self) -> list[str]:
        """The sentences of the checks that did not hold, in order."""
        return [o.failure for o in self.checks if o.failure is not None]

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        return f"{self.result.method} {self.result.url} -> {self.result.status} in {self.result.latency_ms} ms"

    def error(self) -> str:
        """The step's error: the response in short, every failure, and the tries when there were several."""
        text = f"{self.summary()}: " + "; ".join(self.failures)
        if self.tries > 1 or self.gave_up:
            text += f" ({_tries(self.tries)}{'; ' + self.gave_up if self.gave_up else ''})"
        return text


def _tries(n: int) -> str:
    return "after 1 try" if n == 1 else f"after {n} tries"


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to the addresses pinned for the host and port (those the guard checked)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._pins: dict[tuple[str, int], list[str]] = {}

    def pin(self, host: str, port: int, addresses: list[str]) -> None:
        self._pins[(host.lower(), port)] = list(addresses)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self._pins.get((host.lower(), port))
        if not addresses:
            raise httpcore.ConnectError(f"{host}:{port} was not checked by the network guard")
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable from tests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The TLS settings of every run (the CA certificates of certifi's bundle, not the system's): loading them
    takes tens of milliseconds, too long to repeat for each run. A context is safe to share between connections
    and threads (httpcore sets its ALPN protocols, ``h2`` and ``http/1.1``, on each TLS connection)."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, with every request checked by the guard and its connection pinned to the checked
    addresses. (It replaces the transport's connection pool by one with the pinning network backend.) Connections
    are kept alive and reused (HTTP/1.1), and HTTP/2 is used where a server offers it (ALPN, over TLS)."""

    def __init__(self, guard: NetworkGuard, *, max_connections: int = 100) -> None:
        # the shared context: httpx's own would load the CA certificates again (~30 ms) for a pool replaced below
        super().__init__(verify=_ssl_context(), trust_env=False)
        self._guard = guard
        self._backend = _PinnedBackend()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            network_backend=self._backend,
            http1=True,
            http2=True,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        addresses = await self._guard.check_async(str(url))
        port = url.port or (443 if url.scheme in ("https", "wss") else 80)
        self._backend.pin(url.raw_host.decode("ascii"), port, addresses)
        return await super().handle_async_request(request)


def guarded_client(guard: NetworkGuard) -> httpx.AsyncClient:
    """A client that reaches only what ``guard`` lets through, at the addresses it checked, with a connection
    pool of its own (a run's passes share one: :class:`HttpPool`)."""
    return httpx.AsyncClient(transport=GuardedTransport(guard), trust_env=False)


class _Borrowed(httpx.AsyncBaseTransport):
    """A pool's transport lent to one client: closing the client leaves the pool open for the others."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


class HttpPool:
    """One run's HTTP connections: a guarded transport whose connections every pass of the run reuses
    (keep-alive; HTTP/2 where offered), and the run's rate limit. Each pass gets a client of its own
    (:meth:`client`), so cookies persist across the steps of a pass, like a browser's, and never cross from one
    dataset row to another."""

    def __init__(self, guard: NetworkGuard, *, rate_limit: float | None = None, connections: int = 100) -> None:
        self.guard = guard
        self.limiter = rate_limiter(rate_limit) if rate_limit else None
        self._transport = GuardedTransport(guard, max_connections=connections)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=_Borrowed(self._transport), trust_env=False)

    async def aclose(self) -> None:
        await self._transport.aclose()


#: how much of a second's worth of requests may go at once under a rate limit (the bucket's size)
BURST_S = 0.05


def rate_limiter(per_second: float) -> AsyncLimiter:
    """A bucket that lets ``per_second`` requests through each second, on average over any second, and at most
    :data:`BURST_S` seconds' worth (at least one) at once: a run's limit holds from its first request."""
    burst = max(1.0, per_second * BURST_S)
    return AsyncLimiter(burst, burst / per_second)


async def send(
    step: Request,
    *,
    client: httpx.AsyncClient,
    guard: NetworkGuard,
    timeout_s: float,
    limiter: AsyncLimiter | None = None,
) -> HttpResult:
    """Send the request, following redirects by hand so that the guard checks every hop. Give a
    :func:`guarded_client`, so that every hop also connects only to the addresses the guard checked. With a
    ``limiter``, every hop waits for its turn (the time waited counts as the step's, not as latency)."""
    method = step.method
    url = step.url
    headers = dict(step.headers)
    _check_headers(headers)
    content: bytes | None = step.body.encode() if step.body is not None else None
    if step.json_body is not None:
        content = json.dumps(step.json_body).encode()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    url = with_query(step.url, {k: _param(v) for k, v in step.query.items()})
    redirects: list[str] = []
    deadline = time.monotonic() + timeout_s
    started = time.perf_counter()
    waited = 0.0  # for turns under the rate limit: not the server's time
    while True:
        await guard.check_async(url)
        if limiter is not None:
            waiting = time.perf_counter()
            late = f"{method} {url}: no turn under the run's rate limit within {seconds(timeout_s)}"
            await _turn(limiter, deadline, late)
            waited += time.perf_counter() - waiting
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RequestFailed(f"{method} {url}: no response within {seconds(timeout_s)}")
        try:
            request = client.build_request(method, url, headers=_encoded(headers), content=content, timeout=remaining)
            response = await client.send(request, follow_redirects=False, stream=True)
            try:
                body = await _read(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise RequestFailed(f"{method} {url}: no response within {seconds(timeout_s)}") from exc
        except httpx.ConnectError as exc:  # the words the browser's steps use for the same failure
            raise RequestFailed(f"{method} {url}: could not connect: {connect_error(exc)}") from exc
        except httpx.HTTPError as exc:
            raise RequestFailed(f"{method} {url} failed: {type(exc).__name__}: {exc}") from exc
        location = response.headers.get("location")
        if response.status_code not in _REDIRECTS or not location:
            return HttpResult(
                method=method,
                url=str(request.url),
                status=response.status_code,
                headers=response.headers,
                content=body,
                latency_ms=int((time.perf_counter() - started - waited) * 1000),
                redirects=redirects,
                request_headers=request.headers,
                request_body=content,
            )
        if len(redirects) >= MAX_REDIRECTS:
            raise RequestFailed(f"{method} {step.url}: more than {MAX_REDIRECTS} redirects")
        current = str(request.url)
        redirects.append(current)
        nxt = urljoin(current, location)
        if urlsplit(nxt).netloc != urlsplit(current).netloc:
            headers = {k: v for k, v in headers.items() if k.lower() not in _SENSITIVE}
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method = "HEAD" if method == "HEAD" else "GET"
            content = None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        url = nxt


async def _turn(limiter: AsyncLimiter, deadline: float, late: str) -> None:
    """Wait for the rate limit's next turn, but not past ``deadline``."""
    try:
        await asyncio.wait_for(limiter.acquire(), timeout=max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        raise RequestFailed(late) from None


async def _read(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestFailed(f"the response body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_headers(headers: dict[str, str]) -> None:
    """HTTP header names are ASCII and values Latin-1 bytes: say which header cannot be sent (not its value,
    which may be a secret)."""
    for name, value in headers.items():
        try:
            name.encode("ascii")
        except UnicodeEncodeError as exc:
            raise RequestFailed(f"header name {name!r} has characters other than ASCII; it cannot be sent") from exc
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise RequestFailed(
                f"the value of header {name!r} has characters HTTP headers cannot carry (only Latin-1): "
                "percent-encode or base64-encode it"
            ) from exc


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("ascii"), value.encode("latin-1")) for name, value in headers.items()]


def with_query(url: str, query: dict[str, str]) -> str:
    """``url`` with a ``request`` step's ``query`` merged into its own query string. The URL's parameters are
    kept as written (their order, their encoding, repeated keys), except those ``query`` names: every occurrence
    of such a key is dropped and ``query``'s value stands for it. ``query``'s parameters come last, encoded as
    httpx encodes ``params`` (``x y`` -> ``x+y``). (httpx's ``params=`` would replace the URL's query string.)"""
    if not query:
        return url
    parts = urlsplit(url)
    kept = [part for part in parts.query.split("&") if part and unquote_plus(part.split("=", 1)[0]) not in query]
    merged = "&".join([*kept, str(httpx.QueryParams(query))])
    return urlunsplit(parts._replace(query=merged))


def _param(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def run_request(
    step: Request,
    *,
    client: httpx.AsyncClient,
    guard: NetworkGuard,
    timeout_s: float,
    checker: ResponseChecker,
    clip: Clip = cut,
    variables: dict[str, Any] | None = None,
    limiter: AsyncLimiter | None = None,
) -> RequestOutcome:
    """Send, check expectations, extract, all within ``timeout_s``; with the step's ``retry``, send and check
    again (``interval_ms`` apart, at most ``count`` more times) until every check holds or the time is up.
    Network refusals, transport errors (of the last try) and checks that overrun the time left raise;
    expectation and extraction outcomes are returned (what they show of the response through ``clip``).
    ``variables``: what an ``expr`` sees as ``vars``; ``limiter``: the run's rate limit, which every try (and
    every redirect hop) waits for. The checks run in ``checker``'s worker processes: CPU
    work whose cost the test decides, stopped when the time is up, off the event loop that serves other runs
    (and, in local mode, the API)."""
    deadline = time.monotonic() + timeout_s
    retry = step.retry
    allowed = 1 + (retry.count if retry is not None else 0)
    interval_s = (retry.interval_ms / 1000) if retry is not None else 0.0
    tries = 0
    while True:
        tries += 1
        checker.warm()  # (when none is ready) a worker starts while the request is on the wire
        try:
            left = max(deadline - time.monotonic(), 0.001)
            result = await send(step, client=client, guard=guard, timeout_s=left, limiter=limiter)
        except RequestFailed as exc:
            if tries >= allowed or deadline - time.monotonic() <= interval_s:
                if tries == 1:
                    raise
                raise RequestFailed(f"{exc.message} ({_tries(tries)})") from exc
            await asyncio.sleep(interval_s)
            continue
        checked = await checker.check(
            result, step.expect, step.extract, clip=clip, timeout_s=deadline - time.monotonic(), variables=variables
        )
        outcome = RequestOutcome(result=result, variables=checked.variables, checks=checked.outcomes, tries=tries)
        if outcome.passed or tries >= allowed:
            return outcome
        if deadline - time.monotonic() <= interval_s:
            outcome.gave_up = f"the step's time of {seconds(timeout_s)} ran out before the next try"
            return outcome
        await asyncio.sleep(interval_s)
