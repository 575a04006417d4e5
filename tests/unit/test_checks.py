"""Every check kind passing and failing, CEL checks, retry, the checks in results, the report and the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.testclient import TestClient

from cli.output import step_line
from functions.api.app import create_app
from runner_container.runner.exchanges import Exchanges
from runner_container.runner.masking import Masker
from runner_container.runner.report import html_report
from shared.apitests.checks import ResponseChecker, extract_outcomes
from shared.apitests.expectations import outcomes
from shared.apitests.http import guarded_client, run_request
from shared.apitests.response import HttpResult
from shared.models.plans import Request
from shared.models.runs import CheckResult, Run, RunStatus, StepResult
from shared.netguard import NetworkGuard
from tests.conftest import BOOTSTRAP_KEY, FakeServices

LOOPBACK = NetworkGuard.from_setting("127.0.0.0/8")
BODY = {
    "name": "Apples",
    "price": 12,
    "tags": ["fruit", "red"],
    "items": [{"id": 1, "price": 5}, {"id": 2, "price": 20}],
}


def answer(
    body: Any = BODY, *, status: int = 200, latency_ms: int = 30, headers: dict[str, str] | None = None
) -> HttpResult:
    content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return HttpResult(
        method="GET",
        url="http://127.0.0.1/item",
        status=status,
        headers=httpx.Headers(headers or {"Content-Type": "application/json", "X-Trace": "abc-123"}),
        content=content,
        latency_ms=latency_ms,
    )


def expectation(data: dict[str, Any]) -> Any:
    return Request.model_validate({"url": "http://127.0.0.1/", "expect": [data]}).expect[0]


CASES: list[tuple[dict[str, Any], bool, str]] = [
    ({"status": 200}, True, "status 200"),
    ({"status": [201, 204]}, False, "status 201 or 204"),
    ({"jsonpath": "$.name", "equals": "Apples"}, True, 'jsonpath $.name equals "Apples"'),
    ({"jsonpath": "$.name", "equals": "Pears"}, False, 'jsonpath $.name equals "Pears"'),
    ({"jsonpath": "$.tags", "contains": "red"}, True, 'jsonpath $.tags contains "red"'),
    ({"jsonpath": "$.tags", "contains": "blue"}, False, 'jsonpath $.tags contains "blue"'),
    ({"jsonpath": "$.name", "matches": "^App"}, True, "jsonpath $.name matches /^App/"),
    ({"jsonpath": "$.name", "matches": "^Pe"}, False, "jsonpath $.name matches /^Pe/"),
    ({"jsonpath": "$.price", "exists": True}, True, "jsonpath $.price exists"),
    ({"jsonpath": "$.missing", "exists": True}, False, "jsonpath $.missing exists"),
    ({"jsonpath": "$.missing", "exists": False}, True, "jsonpath $.missing does not exist"),
    ({"jsonpath": "$.items[?@.price > 10].id", "equals": 2}, True, "jsonpath $.items[?@.price > 10].id equals 2"),
    ({"jsonpath": "$.items[?@.price > 100].id", "exists": True}, False, "exists"),
    ({"jsonpath": "$[?length(@) == 2]", "exists": True}, True, "exists"),  # tags and items have 2 members
    ({"jsonpath": "$.items[?count(@.*) == 2].id", "equals": [1, 2]}, True, "equals [1, 2]"),
    ({"header": "content-type", "contains": "json"}, True, 'header content-type contains "json"'),
    ({"header": "X-Trace", "equals": "nope"}, False, 'header X-Trace equals "nope"'),
    ({"header": "X-Trace", "matches": r"^\w+-\d+$"}, True, "header X-Trace matches"),
    ({"header": "Set-Cookie", "exists": False}, True, "header Set-Cookie absent"),
    ({"header": "X-Missing", "exists": True}, False, "header X-Missing present"),
    ({"body_contains": "Apples"}, True, "body contains 'Apples'"),
    ({"body_contains": "Pears"}, False, "body contains 'Pears'"),
    ({"body_matches": '"price":\\s*12'}, True, "body matches"),
    ({"body_matches": "Pears|Plums"}, False, "body matches /Pears|Plums/"),
    ({"json_schema": {"type": "object", "required": ["name"]}}, True, "body matches the JSON schema"),
    ({"json_schema": {"type": "object", "required": ["sku"]}}, False, "body matches the JSON schema"),
    ({"max_latency_ms": 100}, True, "latency at most 100 ms"),
    ({"max_latency_ms": 10}, False, "latency at most 10 ms"),
    ({"expr": "response.status == 200 && size(body.items) > 0"}, True, "expr response.status == 200"),
    ({"expr": "body.items.exists(i, i.price > 100)"}, False, "expr body.items.exists"),
    ({"expr": 'headers["content-type"].contains("json") && response.latency_ms < 100'}, True, "expr headers"),
    ({"expr": 'body.name.matches("^A") && vars.wanted == body.price'}, True, "expr body.name.matches"),
]


@pytest.mark.parametrize(("data", "passes", "described"), CASES)
def test_every_check_kind_passes_and_fails(data: dict[str, Any], passes: bool, described: str) -> None:
    found = outcomes(answer(), [expectation(data)], variables={"wanted": 12})
    # the error-status rule first (no status expectation), then the expectation
    mine = found[-1]
    assert mine.passed is passes, mine
    assert described in mine.check
    assert mine.expected is not None
    if passes:
        assert mine.failure is None
    else:
        assert mine.failure and mine.actual is not None


def test_the_error_status_rule_is_a_check_of_its_own() -> None:
    ok = outcomes(answer(), [expectation({"jsonpath": "$.name", "exists": True})])
    assert (ok[0].check, ok[0].passed, ok[0].actual) == ("status below 400", True, "200")
    bad = outcomes(answer(status=503), [])
    assert bad[0].passed is False and "add {status: 503}" in (bad[0].failure or "")
    assert outcomes(answer(status=503), [expectation({"status": 503})])[0].check == "status 503"


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("size(body.items)", "gave int 2, not a bool"),
        ("body.name", "gave string 'Apples', not a bool"),
        ("body.nokey == 1", "no such member"),
        ("1 / 0 == 1", "divide by zero"),
        ("nosuchfunction(body) == 1", "nosuchfunction"),
    ],
)
def test_a_cel_check_that_is_not_a_bool_or_cannot_be_evaluated_fails_saying_why(expr: str, says: str) -> None:
    found = outcomes(answer(), [expectation({"expr": expr})])[-1]
    assert not found.passed and says in (found.failure or ""), found


def test_cel_sees_a_body_that_is_not_json_as_text() -> None:
    found = outcomes(
        answer(b"plain words", headers={"Content-Type": "text/plain"}),
        [expectation({"expr": 'body.startsWith("plain")'})],
    )
    assert found[-1].passed


def test_extractions_are_checks_too() -> None:
    values, found = extract_outcomes(answer(), {"name": "$.name", "cheap": "$.items[?@.price < 10].id", "no": "$.x"})
    assert values == {"name": "Apples", "cheap": [1]}
    assert [(o.check, o.passed, o.actual) for o in found] == [
        ("extract name = $.name", True, "'Apples'"),
        ("extract cheap = $.items[?@.price < 10].id", True, "[1]"),
        ("extract no = $.x", False, "nothing"),
    ]


# ------------------------------------------------------------------------------ save-time errors


@pytest.fixture
def api(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, max_body_bytes=64 * 1024))


def _api_test(step: dict[str, Any]) -> dict[str, Any]:
    return {"name": "checks", "kind": "api", "steps": [{"action": "request", "url": "http://127.0.0.1:5000/", **step}]}


@pytest.mark.parametrize(
    ("step", "where", "says"),
    [
        ({"expect": [{"expr": "response.status =="}]}, "steps[0].expect[0].expr", "CEL syntax error"),
        ({"expect": [{"expr": "vars.a == {{a}}"}]}, "steps[0].expect[0].expr", "vars.a"),
        ({"expect": [{"jsonpath": "$.rows.length()", "equals": 3}]}, "steps[0].expect[0].jsonpath", "no .length()"),
        ({"expect": [{"jsonpath": "$.items[?@.price >", "exists": True}]}, "steps[0].expect[0].jsonpath", "JSONPath"),
        ({"extract": {"id": "$.items[0"}}, "steps[0].extract.id", "invalid JSONPath '$.items[0'"),
        ({"retry": {"count": 51}}, "steps[0].retry.count", "less than or equal to 50"),
        ({"retry": {"count": 3, "interval_ms": 60_001}}, "steps[0].retry.interval_ms", "60000"),
    ],
)
def test_bad_paths_expressions_and_retries_are_422s_naming_the_step(
    api: TestClient, step: dict[str, Any], where: str, says: str
) -> None:
    response = api.post("/v1/tests", json=_api_test(step), headers={"Authorization": f"Bearer {BOOTSTRAP_KEY}"})
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert any(d["loc"] == f"body.{where}" and says in d["msg"] for d in details), details


def test_paths_with_placeholders_and_good_expressions_are_saved(api: TestClient) -> None:
    step = {
        "extract": {"id": '$.items[?@.name == "{{name}}"].id'},
        "expect": [{"jsonpath": "$.items[{{i}}].price", "exists": True}, {"expr": "size(body.items) > vars.min"}],
        "retry": {"count": 5, "interval_ms": 100},
    }
    body = _api_test(step) | {"variables": {"name": "a", "i": 0, "min": 0}}
    response = api.post("/v1/tests", json=body, headers={"Authorization": f"Bearer {BOOTSTRAP_KEY}"})
    assert response.status_code == 201, response.text


# ------------------------------------------------------------------------------------- retry


class _Eventually(BaseHTTPRequestHandler):
    """Answers ``{"state": "pending"}`` until the ``ready_after``-th request, then ``{"state": "done"}``."""

    count = 0
    ready_after = 3

    def do_GET(self) -> None:
        type(self).count += 1
        state = "done" if type(self).count >= type(self).ready_after else "pending"
        data = json.dumps({"state": state}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "session=s3cr3t-cookie")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def eventually() -> Iterator[str]:
    _Eventually.count = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Eventually)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/job"
    finally:
        server.shutdown()
        server.server_close()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded_client(LOOPBACK) as client:
        yield client


def _poll(url: str, count: int, interval_ms: int = 20) -> Request:
    return Request.model_validate(
        {
            "url": url,
            "headers": {"Authorization": "Bearer top-secret-token"},
            "expect": [{"jsonpath": "$.state", "equals": "done"}],
            "retry": {"count": count, "interval_ms": interval_ms},
        }
    )


async def test_retry_polls_until_the_checks_pass(
    eventually: str, http: httpx.AsyncClient, checker: ResponseChecker
) -> None:
    outcome = await run_request(_poll(eventually, 5), client=http, guard=LOOPBACK, timeout_s=10, checker=checker)
    assert outcome.passed and outcome.tries == 3 and _Eventually.count == 3


async def test_retry_gives_up_saying_how_many_tries(
    eventually: str, http: httpx.AsyncClient, checker: ResponseChecker
) -> None:
    _Eventually.ready_after = 100
    try:
        outcome = await run_request(_poll(eventually, 2), client=http, guard=LOOPBACK, timeout_s=10, checker=checker)
        assert not outcome.passed and outcome.tries == 3 and _Eventually.count == 3
        assert (
            outcome.error().endswith("(after 3 tries)")
            and "expected $.state to equal 'done', got 'pending'" in outcome.error()
        )
        # bounded by the step's time: a long interval stops the tries early
        _Eventually.count = 0
        slow = await run_request(_poll(eventually, 10, 2000), client=http, guard=LOOPBACK, timeout_s=1, checker=checker)
        assert slow.tries == 1 and "ran out before the next try" in slow.error()
    finally:
        _Eventually.ready_after = 3


# ------------------------------------------------------------------------------------ report


async def test_the_report_shows_the_exchange_masked_and_every_check(
    eventually: str, http: httpx.AsyncClient, checker: ResponseChecker
) -> None:
    masker = Masker(["top-secret-token"])
    outcome = await run_request(
        _poll(eventually, 5), client=http, guard=LOOPBACK, timeout_s=10, checker=checker, clip=masker.clip
    )
    exchanges = Exchanges()
    exchanges.note_response("", 0, outcome.result, masker, tries=outcome.tries)
    checks = [CheckResult(check=o.check, passed=o.passed, expected=o.expected, actual=o.actual) for o in outcome.checks]
    step = StepResult(index=0, action="request", detail=f"GET {eventually}", status="passed", checks=checks, tries=3)
    run = Run.model_validate(
        {
            "id": "run_1",
            "project_id": "prj",
            "kind": "api",
            "status": RunStatus.passed,
            "spec": {"steps": [{"action": "request", "url": eventually}]},
            "timeout_s": 60,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "steps": [step.model_dump()],
        }
    )
    page = html_report(run, prefix="runs/prj/run_1/attempt-1", exchanges=exchanges).decode()
    assert "top-secret-token" not in page and "s3cr3t-cookie" not in page
    assert "Authorization" in page and "set-cookie" in page.lower() and "***" in page
    assert f"GET {eventually}" in page and "Response 200 in" in page
    assert "&#34;state&#34;: &#34;done&#34;" in page or "&quot;state&quot;: &quot;done&quot;" in page
    assert "jsonpath $.state equals &#34;done&#34;" in page or "jsonpath $.state equals &quot;done&quot;" in page
    assert "status below 400" in page and "(3 tries)" in page


def test_the_cli_shows_every_check_of_a_step_that_failed() -> None:
    step = {
        "index": 0,
        "action": "request",
        "detail": "GET http://127.0.0.1/x",
        "status": "failed",
        "error": "GET ... -> 200: expected $.name to equal 'B', got 'A'",
        "checks": [
            {"check": "status below 400", "passed": True, "expected": "below 400", "actual": "200"},
            {"check": 'jsonpath $.name equals "B"', "passed": False, "expected": '"B"', "actual": '"A"'},
        ],
        "tries": 2,
    }
    text = step_line(step)
    assert "✓[/] status below 400" in text and '✗[/] jsonpath $.name equals "B"' in text
    assert '[dim]expected[/] "B" [dim]got[/] "A"' in text and "(2 tries)" in text
    passed = step_line(step | {"status": "passed", "error": None})
    assert "(2 checks passed)" in passed and "✗" not in passed.split("\n", 1)[-1]


@pytest.mark.parametrize(
    ("data", "passes"),
    [
        ({"jsonpath": "$.flags", "equals": [1, 0]}, False),  # [true, false] is not [1, 0]
        ({"jsonpath": "$.flags", "equals": [True, False]}, True),
        ({"jsonpath": "$.user", "equals": {"active": 1, "n": 2}}, False),
        ({"jsonpath": "$.user", "equals": {"active": True, "n": 2.0}}, True),
        ({"jsonpath": "$.rows", "contains": [1]}, False),
        ({"jsonpath": "$.rows", "contains": [True]}, True),
    ],
)
def test_true_is_not_1_at_any_depth(data: dict[str, Any], passes: bool) -> None:
    body = {"flags": [True, False], "user": {"active": True, "n": 2}, "rows": [[True]]}
    assert outcomes(answer(body), [expectation(data)])[-1].passed is passes
