"""Request steps against the example app on loopback (no other network)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import pytest_asyncio

from examples.webapp import ADMIN_PASSWORD, WebApp, serve
from runner_container.runner.masking import Masker
from shared.apitests.checks import ResponseChecker
from shared.apitests.expectations import check, contains, values_equal
from shared.apitests.http import RequestFailed, guarded_client, run_request, send
from shared.apitests.response import HttpResult
from shared.models.plans import Request
from shared.netguard import Allowlist, NetworkGuard, NetworkRefused


@pytest.fixture(scope="module")
def app() -> Iterator[WebApp]:
    with serve() as running:
        yield running


LOOPBACK = NetworkGuard.from_setting("127.0.0.0/8")


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded_client(LOOPBACK) as http:
        yield http


def step(**fields: object) -> Request:
    return Request.model_validate(fields)


async def test_login_extracts_and_checks(app: WebApp, client: httpx.AsyncClient, checker: ResponseChecker) -> None:
    outcome = await run_request(
        step(
            method="POST",
            url=f"{app.url}/api/login",
            json={"username": "admin", "password": ADMIN_PASSWORD},
            extract={"token": "$.token", "names": "$..name"},
            expect=[
                {"status": [200, 201]},
                {"jsonpath": "$.user.name", "equals": "admin"},
                {"jsonpath": "$.token", "matches": "^tok-"},
                {"jsonpath": "$.missing", "exists": False},
                {"header": "content-type", "contains": "json"},
                {"header": "X-Example", "equals": "yes"},
                {"body_contains": "token"},
                {"json_schema": {"type": "object", "required": ["token", "user"]}},
                {"max_latency_ms": 5000},
            ],
        ),
        client=client,
        guard=LOOPBACK,
        timeout_s=5,
        checker=checker,
    )
    assert outcome.passed, outcome.failures
    assert outcome.variables == {"token": "tok-example-123", "names": ["admin"]}


async def test_every_failed_expectation_is_reported(
    app: WebApp, client: httpx.AsyncClient, checker: ResponseChecker
) -> None:
    outcome = await run_request(
        step(
            url=f"{app.url}/api/items",
            query={"page": 1},
            extract={"first": "$.nothing"},
            expect=[
                {"status": 201},
                {"jsonpath": "$.count", "equals": 4},
                {"jsonpath": "$.items[*].name", "contains": "Milk"},
                {"header": "X-Missing", "exists": True},
                {"body_matches": "^<html"},
                {"json_schema": {"type": "object", "properties": {"count": {"type": "string"}}}},
            ],
        ),
        client=client,
        guard=LOOPBACK,
        timeout_s=5,
        checker=checker,
    )
    text = "\n".join(outcome.failures)
    assert len(outcome.failures) == 7, text
    assert "expected status 201, got 200" in text
    assert "expected $.count to equal 4, got 3" in text
    assert "to contain 'Milk'" in text
    assert "the body does not match the JSON schema at $['count']" in text
    assert "cannot extract 'first'" in text


async def test_redirects_are_followed_hop_by_hop_through_the_guard(app: WebApp, client: httpx.AsyncClient) -> None:
    result = await send(
        step(method="POST", url=f"{app.url}/redirect?to=/api/items/1&code=303", body="x"),
        client=client,
        guard=LOOPBACK,
        timeout_s=5,
    )
    assert result.status == 200 and result.method == "GET" and result.url.endswith("/api/items/1")
    assert result.redirects == [f"{app.url}/redirect?to=/api/items/1&code=303"]

    with pytest.raises(NetworkRefused, match="cloud metadata"):
        await send(
            step(url=f"{app.url}/redirect?to=http://169.254.169.254/latest/"),
            client=client,
            guard=LOOPBACK,
            timeout_s=5,
        )


async def test_loopback_needs_the_allowlist(app: WebApp, client: httpx.AsyncClient) -> None:
    with pytest.raises(NetworkRefused, match="AUTOTEST_NETWORK_ALLOWLIST"):
        await send(step(url=f"{app.url}/api/items"), client=client, guard=NetworkGuard(), timeout_s=5)


async def test_a_slow_response_times_out(app: WebApp, client: httpx.AsyncClient) -> None:
    with pytest.raises(RequestFailed, match=r"no response within 0\.3s"):
        await send(step(url=f"{app.url}/slow?ms=2000"), client=client, guard=LOOPBACK, timeout_s=0.3)


def test_non_json_bodies_fail_json_expectations_clearly() -> None:
    result = HttpResult("GET", "http://x/", 200, httpx.Headers(), b"<html>hi</html>", 3)
    failures = check(result, step(url="http://x/", expect=[{"jsonpath": "$.a", "exists": True}]).expect)
    assert failures == ["expected $.a in a JSON body, the body is not JSON (body: <html>hi</html>)"]


def test_value_comparisons() -> None:
    assert values_equal("5", 5) and values_equal(5, 5.0) and not values_equal(True, 1)
    assert not values_equal("true", True) and values_equal(True, True)
    # a number written as text is compared as a number (a CSV cell "3.50" is the JSON 3.5), written as JSON
    # writes numbers: no hex, no spaces, no "3" for true
    assert values_equal("3.50", 3.5) and values_equal("3.0", 3) and values_equal("1e2", 100)
    assert not values_equal("0x3", 3) and not values_equal(" 3", 3) and not values_equal("3", True)
    assert not values_equal("3.5", 3.51) and values_equal("12345678901234567890", 12345678901234567890)
    assert contains({"a": 1, "b": 2}, {"a": 1}) and contains(["x", 1], 1) and contains("abc", "b")
    assert not contains(3, 3)


def _pinned_guard(addresses: dict[str, str]) -> NetworkGuard:
    """A guard whose resolver answers from ``addresses``: the names do not exist in real DNS (``.invalid``),
    so a request can only reach the app if httpx connects to the address the guard checked."""

    async def resolve(host: str, port: int) -> list[str]:
        return [addresses[host]]

    return NetworkGuard(allowlist=Allowlist.parse("127.0.0.1/32"), resolver=resolve)


async def test_requests_connect_to_the_addresses_the_guard_checked(app: WebApp) -> None:
    # Given a guard that resolved two names (unknown to DNS) to the app's address
    guard = _pinned_guard({"api.invalid": "127.0.0.1", "other.invalid": "127.0.0.1"})
    port = app.url.rsplit(":", 1)[1]

    # When a request (with a redirect to the other name) goes out through the guarded client
    async with guarded_client(guard) as http:
        result = await send(
            step(
                url=f"http://api.invalid:{port}/redirect?to=http://other.invalid:{port}/api/echo&code=307",
                method="POST",
            ),
            client=http,
            guard=guard,
            timeout_s=5,
        )

    # Then every hop reached the checked address, with the hostname kept in the URL and the Host header
    assert result.status == 200 and result.url == f"http://other.invalid:{port}/api/echo"
    assert result.json["headers"]["Host"] == f"other.invalid:{port}"


async def test_a_name_that_resolves_elsewhere_after_the_check_is_not_followed(
    app: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an internal service on 127.0.0.2, a guard that checked "rebind.example" as 127.0.0.1 (the app),
    # and a system resolver that now answers 127.0.0.2 for it (DNS rebinding)
    internal = ThreadingHTTPServer(("127.0.0.2", 0), _Internal)
    threading.Thread(target=internal.serve_forever, daemon=True).start()
    port = internal.server_address[1]
    app_port = int(app.url.rsplit(":", 1)[1])
    real = socket.getaddrinfo

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.2" if host in ("rebind.example", b"rebind.example") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    guard = _pinned_guard({"rebind.example": "127.0.0.1"})

    # When request steps go to that name (on the internal service's port, and on the app's)
    try:
        async with guarded_client(guard) as http:
            with pytest.raises(RequestFailed, match="could not connect: connection refused"):
                await send(step(url=f"http://rebind.example:{port}/"), client=http, guard=guard, timeout_s=5)
            result = await send(
                step(url=f"http://rebind.example:{app_port}/api/items"), client=http, guard=guard, timeout_s=5
            )
    finally:
        internal.shutdown()

    # Then they went to the checked address only: the internal service saw nothing
    assert result.status == 200 and result.json["count"] == 3
    assert _Internal.hits == []


class _Internal(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "8")
        self.end_headers()
        self.wfile.write(b"internal")

    def log_message(self, *args: Any) -> None:
        pass


async def test_a_header_value_beyond_latin_1_fails_the_step_naming_the_header(
    app: WebApp, client: httpx.AsyncClient
) -> None:
    with pytest.raises(RequestFailed, match="the value of header 'X-Name' has characters HTTP headers cannot carry"):
        await send(
            step(url=f"{app.url}/api/items", headers={"X-Name": "snowman ☃"}),
            client=client,
            guard=LOOPBACK,
            timeout_s=5,
        )

    echoed = await send(
        step(method="POST", url=f"{app.url}/api/echo", headers={"X-Name": "café"}),
        client=client,
        guard=LOOPBACK,
        timeout_s=5,
    )
    assert echoed.status == 200 and echoed.json["headers"]["X-Name"].encode("latin-1") == "café".encode("latin-1")


def test_failures_show_the_response_masked_before_it_is_cut() -> None:
    # Given a response whose body holds a long secret, across the point where hints are cut
    token = "eyJhbGciOiJIUzI1NiJ9." + "A" * 150 + ".sig" + "B" * 100
    body = json.dumps({"token": token}).encode()
    result = HttpResult("GET", "http://x/", 200, httpx.Headers(), body, 3)
    expect = step(url="http://x/", expect=[{"status": 201}, {"jsonpath": "$.missing", "equals": token}]).expect

    # When the expectations fail, shown through the masker's clip
    failures = check(result, expect, clip=Masker([token]).clip)

    # Then no part of the secret is shown
    assert failures == [
        'expected status 201, got 200 (body: {"token": "***...)',
        'expected $.missing to exist, it matched nothing in {"token": "***...',
    ]


async def test_a_closed_port_says_connection_refused_as_browser_steps_do(client: httpx.AsyncClient) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    guard = NetworkGuard(allowlist=Allowlist.parse("127.0.0.0/8"))
    with pytest.raises(RequestFailed, match=r"could not connect: connection refused$"):
        await send(Request(url=f"http://127.0.0.1:{port}/"), client=client, guard=guard, timeout_s=5)


@pytest.mark.parametrize(
    ("expect", "passes"), [([], False), ([{"body_contains": "x"}], False), ([{"status": 500}], True)]
)
def test_an_error_status_fails_a_step_that_does_not_expect_it(expect: list[dict[str, Any]], passes: bool) -> None:
    answered = HttpResult(
        method="GET",
        url="http://127.0.0.1/x",
        status=500,
        headers=httpx.Headers({}),
        content=b"x",
        latency_ms=1,
        redirects=[],
    )
    failures = check(answered, step(url="http://127.0.0.1/x", expect=expect).expect)
    assert (failures == []) is passes, failures
    if not passes:
        assert failures[0].startswith("the server answered 500") and "add {status: 500}" in failures[0]


def test_an_extracted_value_larger_than_a_variable_may_hold_fails_the_step() -> None:
    from shared.apitests.checks import extract

    big = HttpResult(
        method="GET",
        url="http://127.0.0.1/x",
        status=200,
        headers=httpx.Headers({"content-type": "application/json"}),
        content=json.dumps({"s": "x" * 300_000, "n": 1}).encode(),
        latency_ms=1,
        redirects=[],
    )
    values, failures = extract(big, {"s": "$.s", "n": "$.n"})
    assert values == {"n": 1}
    assert failures == ["cannot extract 's': $.s is 292 KB, more than the 256 KB a variable may hold"]


@pytest.mark.serial  # a pytest-xdist worker parses less deeply nested JSON than the runner does
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"a":' * 950 + "1" + "}" * 950, "nests deeper than 64 levels"),
        ('{"a": NaN}', "numbers must be finite"),
    ],
)
def test_an_extracted_value_a_run_cannot_hold_fails_the_step(body: str, says: str) -> None:
    from shared.apitests.checks import extract

    answered = HttpResult(
        method="GET",
        url="http://127.0.0.1/x",
        status=200,
        headers=httpx.Headers({"content-type": "application/json"}),
        content=body.encode(),
        latency_ms=1,
        redirects=[],
    )
    values, failures = extract(answered, {"v": "$.a"})
    assert values == {} and len(failures) == 1 and says in failures[0], failures


def test_a_body_nested_past_the_parsers_depth_is_not_json_not_an_error() -> None:
    deep = HttpResult(
        method="GET",
        url="http://127.0.0.1/x",
        status=200,
        headers=httpx.Headers({"content-type": "application/json"}),
        content=("[" * 5000 + "]" * 5000).encode(),
        latency_ms=1,
        redirects=[],
    )
    assert not deep.is_json
