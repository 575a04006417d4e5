"""Request steps against the example app on loopback (no other network)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from examples.webapp import ADMIN_PASSWORD, WebApp, serve
from shared.apitests.expectations import check, contains, values_equal
from shared.apitests.http import RequestFailed, run_request, send
from shared.apitests.response import HttpResult
from shared.models.plans import Request
from shared.netguard import NetworkGuard, NetworkRefused


@pytest.fixture(scope="module")
def app() -> Iterator[WebApp]:
    with serve() as running:
        yield running


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http


LOOPBACK = NetworkGuard.from_setting("127.0.0.0/8")


def step(**fields: object) -> Request:
    return Request.model_validate(fields)


async def test_login_extracts_and_checks(app: WebApp, client: httpx.AsyncClient) -> None:
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
    )
    assert outcome.passed, outcome.failures
    assert outcome.variables == {"token": "tok-example-123", "names": ["admin"]}


async def test_every_failed_expectation_is_reported(app: WebApp, client: httpx.AsyncClient) -> None:
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
    assert contains({"a": 1, "b": 2}, {"a": 1}) and contains(["x", 1], 1) and contains("abc", "b")
    assert not contains(3, 3)
