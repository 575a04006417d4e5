"""Failure signatures (``shared/services/signatures.py``): the same cause with other ids, timestamps, ports,
durations and page contents is one signature; other causes are other signatures; browser and API steps, errored,
timed-out and cancelled runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.models.runs import CheckResult, Iteration, Run, RunStatus, StepResult
from shared.models.tests import TestKind, TestSpec
from shared.services.signatures import (
    VERSION,
    error_kind,
    failure_of,
    normalize_message,
    normalize_url,
    response_status,
)

T0 = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)


def step(index: int, action: str, status: str = "passed", **fields: Any) -> StepResult:
    return StepResult(index=index, action=action, status=status, **fields)  # type: ignore[arg-type]


def run(status: RunStatus, steps: list[StepResult] | None = None, error: str | None = None, **fields: Any) -> Run:
    fields.setdefault("kind", TestKind.browser)
    return Run(
        id="run_01JAAAAAAAAAAAAAAAAAAAAAAA",
        project_id="prj",
        status=status,
        spec=TestSpec.model_validate({"steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}),
        timeout_s=60,
        created_at=T0,
        updated_at=T0,
        steps=steps or [],
        error=error,
        **fields,
    )


def browser_failure(error: str, *, target: str = 'role=button name="Log in"', index: int = 3) -> Run:
    steps = [step(i, "fill", target=f'label="Field {i}"') for i in range(index)]
    steps.append(step(index, "click", "failed", target=target, error=error))
    steps.append(step(index + 1, "expect_text", "skipped", detail="Welcome"))
    return run(RunStatus.failed, steps, error=error)


def api_failure(url: str, got: int, *, want: int = 200, tries: int = 1, latency: int = 12) -> Run:
    error = f"GET {url} -> {got} in {latency} ms: expected status {want}, got {got}"
    if tries > 1:
        error += f" (after {tries} tries)"
    checks = [CheckResult(check=f"status {want}", passed=False, expected=str(want), actual=str(got))]
    failing = step(0, "request", "failed", detail=f"GET {url}", error=error, checks=checks, tries=tries)
    return run(RunStatus.failed, [failing], error=error, kind=TestKind.api)


# ------------------------------------------------------------------------------ normalization


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # ids of every shape
        ("order run_01JABCDEFGHJKMNPQRSTVWXYZ0 not found", "order run_01JZZZZZZZZZZZZZZZZZZZZZZZ9 not found"),
        ("user 3f2a9b7c-1111-2222-3333-444455556666 missing", "user 00000000-aaaa-bbbb-cccc-dddddddddddd missing"),
        ("session deadbeef12 expired", "session 0123abcd99ff expired"),
        ("token 0x1f2e failed", "token 0xABCDEF failed"),
        ("key AbCdEf1234567890XyZw98 rejected", "key ZzYyXx0987654321AaBb11 rejected"),
        # timestamps, clock times and durations
        ("failed at 2026-01-02T10:11:12.123Z", "failed at 2025-12-31T23:59:59+01:00"),
        ("failed at 10:33:02", "failed at 09:01:59"),
        ("the step did not finish within 5 s", "the step did not finish within 12.5 s"),
        ("Locator.click: Timeout 5000ms exceeded.", "Locator.click: Timeout 30000ms exceeded."),
        # ports, addresses, URLs' query strings and fragments
        ("GET http://127.0.0.1:5001/a?x=1 -> 500", "GET http://127.0.0.1:61234/a?x=2&y=3#top -> 500"),
        ("could not connect to 127.0.0.1:5001", "could not connect to 10.1.2.3:80"),
        ("GET http://localhost:8080/orders/123/items", "GET http://LOCALHOST:9090/orders/987654/items"),
        ("refused http://[::1]:8080/x", "refused http://[::1]:9999/x"),
        # what the runner adds about the page, and the tries of a request
        (
            "expected the page to contain the text 'Welcome' within 5 s; it shows: 'Hello Bob'",
            "expected the page to contain the text 'Welcome' within 5 s; it shows: 'Service unavailable'",
        ),
        (
            'target role=button name="Log in" matched nothing within 5 s. Elements with role button: - button "A"',
            'target role=button name="Log in" matched nothing within 5 s. The page has no element with role button.',
        ),
        (
            'text="Buy" matched 3 elements, expected exactly one: button "Buy", link "Buy". Make the target ...',
            'text="Buy" matched 2 elements, expected exactly one: link "Buy now", button "Buy". Make it ...',
        ),
        (
            "GET http://h/x -> 500 in 3 ms: expected status 200, got 500 (after 3 tries)",
            "GET http://h/x -> 500 in 9 ms: expected status 200, got 500",
        ),
        (
            "undefined variable {{token}}: nothing defines it (defined: a, b)",
            "undefined variable {{token}}: nothing defines it (defined: a, b, order_id)",
        ),
        # whitespace
        ("expected   the URL\n to match /done/", "expected the URL to match /done/"),
    ],
)
def test_what_changes_between_runs_of_one_cause_is_normalized_away(one: str, other: str) -> None:
    assert normalize_message(one) == normalize_message(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Locator.click: Timeout 5000ms exceeded.", "Locator.fill: Timeout 5000ms exceeded."),
        ("GET http://h/orders -> 500", "GET http://h/users -> 500"),
        ("GET http://api.example.test/a", "GET http://staging.example.test/a"),
        ("expected the page to contain the text 'Welcome'", "expected the page to contain the text 'Goodbye'"),
        ("GET http://h/ answered 404 Not Found", "GET http://h/ answered 503 Service Unavailable"),
        ("undefined variable {{token}}", "undefined variable {{user}}"),
        ("secret 'API_KEY' was not loaded for this run", "secret 'DB_PASSWORD' was not loaded for this run"),
    ],
)
def test_other_causes_stay_apart(one: str, other: str) -> None:
    assert normalize_message(one) != normalize_message(other)


def test_normalized_messages_read_as_placeholders() -> None:
    assert (
        normalize_message("GET http://127.0.0.1:5001/api/orders/123?token=abc -> 500 in 12 ms: expected status 200")
        == "GET http://<ip>/api/orders/<n> -> <n> in <n> ms: expected status <n>"
    )
    assert normalize_message("run run_01JABCDEFGHJKMNPQRSTVWXYZ0 at 2026-01-02T10:11:12Z") == "run <id> at <time>"
    assert normalize_message("x" * 1000) == "x" * 300
    assert normalize_url("https://user:pw@Example.test:8443/a/42/b?q=1#f") == "https://example.test/a/<n>/b"
    # plain words with underscores or hex letters are not ids
    assert normalize_message("variable base_url_override is empty; deadbeef") == (
        "variable base_url_override is empty; deadbeef"
    )


# ---------------------------------------------------------------------------------- the kind


@pytest.mark.parametrize(
    ("message", "action", "status", "kind"),
    [
        ("Locator.click: Timeout 5000ms exceeded.", "click", "failed", "timeout"),
        ("the step did not finish within 5 s", "click", "failed", "timeout"),
        (
            'target role=button name="Log in" matched nothing within 5 s. Page: ...',
            "click",
            "failed",
            "target_not_found",
        ),
        ('text="Buy" matched 3 elements, expected exactly one: ...', "click", "failed", "target_ambiguous"),
        (
            "expected the page to contain the text 'Welcome' within 5 s; it shows: ''",
            "expect_text",
            "failed",
            "expectation",
        ),
        ("GET http://h/ answered 404 Not Found", "goto", "failed", "navigation"),
        ("refused http://10.0.0.5/: 10.0.0.5 is a private address", "goto", "failed", "refused"),
        ("undefined variable {{token}}: nothing defines it", "fill", "error", "setup"),
        ("Target crashed", "click", "error", "browser_crash"),
        ("something odd", "hover", "failed", "failure"),
        ("something odd", "hover", "error", "error"),
    ],
)
def test_the_kind_of_a_browser_step_error(message: str, action: str, status: str, kind: str) -> None:
    assert error_kind(message, step=step(0, action, status, error=message)) == kind


def test_the_kind_of_an_api_step_error_comes_from_its_checks() -> None:
    def request(checks: list[CheckResult], error: str = "GET http://h/ -> 200 in 3 ms: ...") -> StepResult:
        return step(0, "request", "failed", error=error, checks=checks)

    status = CheckResult(check="status 200", passed=False, expected="200", actual="500")
    body = CheckResult(check="jsonpath $.name equals 'A'", passed=False, expected="A", actual="B")
    extract = CheckResult(check="extract id = $.id", passed=False)
    ok = CheckResult(check="status 200", passed=True, actual="200")
    assert error_kind("x", step=request([status, body])) == "http_status"
    assert error_kind("x", step=request([ok, body])) == "check_failed"
    assert error_kind("x", step=request([ok, extract])) == "extract_failed"
    assert error_kind("GET http://h/: could not connect (connection refused)", step=request([])) == "connection"
    assert error_kind("GET http://h/: timed out after 5 s", step=request([])) == "timeout"
    assert response_status(request([status])) == 500
    assert response_status(request([], error="GET http://h/ -> 503 in 3 ms: expected status 200")) == 503
    assert response_status(step(0, "goto", "failed", error="GET http://h/ answered 404 Not Found")) == 404


# ------------------------------------------------------------------------------ the signature


def test_the_same_browser_failure_with_other_ids_timestamps_and_durations_is_one_signature() -> None:
    one = failure_of(browser_failure("Locator.click: Timeout 5000ms exceeded. at 2026-01-02T10:00:00Z"))
    other = failure_of(browser_failure("Locator.click: Timeout 7000ms exceeded. at 2026-01-03T11:30:00Z"))
    assert one is not None and other is not None
    assert one.signature == other.signature and len(one.signature) == 16
    assert (one.step_index, one.action, one.target, one.kind) == (3, "click", 'role=button name="Log in"', "timeout")
    assert one.version == VERSION
    assert one.summary() == 'click role=button name="Log in": timeout: Locator.click: Timeout <n>ms exceeded. at <time>'


def test_a_step_added_before_the_failing_one_keeps_the_signature() -> None:
    error = "Locator.click: Timeout 5000ms exceeded."
    one, other = failure_of(browser_failure(error, index=3)), failure_of(browser_failure(error, index=5))
    assert one is not None and other is not None
    assert one.signature == other.signature and (one.step_index, other.step_index) == (3, 5)


def test_other_steps_kinds_and_targets_are_other_signatures() -> None:
    timeout = "Locator.click: Timeout 5000ms exceeded."
    signatures = {
        failure_of(browser_failure(timeout)).signature,  # type: ignore[union-attr]
        failure_of(browser_failure(timeout, target='role=button name="Sign up"')).signature,  # type: ignore[union-attr]
        failure_of(browser_failure("target matched nothing within 5 s")).signature,  # type: ignore[union-attr]
        failure_of(browser_failure("expected the URL to match /done/ within 5 s")).signature,  # type: ignore[union-attr]
    }
    assert len(signatures) == 4


def test_an_api_failure_keeps_its_status_and_path_and_drops_ports_queries_tries_and_latency() -> None:
    one = failure_of(api_failure("http://127.0.0.1:5001/api/orders/17?page=2", 500, latency=12))
    same = failure_of(api_failure("http://127.0.0.1:61000/api/orders/99?page=1", 500, latency=340, tries=3))
    other_status = failure_of(api_failure("http://127.0.0.1:5001/api/orders/17", 404))
    other_path = failure_of(api_failure("http://127.0.0.1:5001/api/users/17", 500))
    assert one is not None and same is not None and other_status is not None and other_path is not None
    assert one.signature == same.signature
    assert (one.kind, one.http_status, one.action, one.target) == (
        "http_status",
        500,
        "request",
        "GET http://<ip>/api/orders/<n>",
    )
    assert other_status.http_status == 404
    assert len({one.signature, other_status.signature, other_path.signature}) == 3


def test_errored_and_timed_out_runs_are_failures_and_cancelled_ones_are_not() -> None:
    not_loaded = failure_of(run(RunStatus.error, error="secret 'API_KEY' was not loaded for this run"))
    assert not_loaded is not None and (not_loaded.kind, not_loaded.step_index, not_loaded.action) == (
        "setup",
        None,
        None,
    )
    crashed = failure_of(run(RunStatus.error, error="runner error: RuntimeError: boom 17"))
    assert (
        crashed is not None
        and crashed.kind == "runner_error"
        and crashed.message == "runner error: RuntimeError: boom <n>"
    )
    dead = failure_of(run(RunStatus.error, error="attempt 2 never finished: its message was delivered 5 times (...)"))
    assert dead is not None and dead.kind == "interrupted"
    timed_out = failure_of(run(RunStatus.timed_out, error="the run's 60 s were up"))
    assert timed_out is not None and timed_out.kind == "run_timeout"
    in_a_step = failure_of(
        run(
            RunStatus.timed_out,
            [step(0, "click", "failed", target="text=Go", error="the step did not finish within 3 s")],
        )
    )
    assert in_a_step is not None and (in_a_step.kind, in_a_step.action) == ("timeout", "click")
    no_error = failure_of(run(RunStatus.failed))
    assert no_error is not None and no_error.message == "the run ended failed"
    for status in (RunStatus.passed, RunStatus.cancelled, RunStatus.queued, RunStatus.running):
        assert failure_of(run(status, error="cancelled before it started")) is None


def test_a_data_driven_run_signs_its_first_row_that_did_not_pass() -> None:
    ok = Iteration(index=0, status=RunStatus.passed, steps=[step(0, "request")])
    bad = Iteration(
        index=1,
        status=RunStatus.failed,
        steps=[
            step(0, "request", "failed", detail="GET http://h/items/2", error="GET http://h/items/2 -> 404 in 1 ms: x")
        ],
    )
    failure = failure_of(run(RunStatus.failed, iterations=[ok, bad], error="dataset row 2 did not pass (of 2); ..."))
    assert failure is not None and (failure.action, failure.target, failure.http_status) == (
        "request",
        "GET http://h/items/<n>",
        404,
    )


def test_a_long_hostile_message_normalizes_in_linear_time() -> None:
    """A step's error can carry what the system under test sent: thousands of unclosed ``(defined: `` made the
    pattern that drops the runner's variable list rescan the rest of the message from each (1.6 s for 100 KB,
    quadratic), in the runner and in ``GET /v1/failures``'s reads of old runs."""
    import time

    for hostile in (
        "variable x is not set " + "(defined: " * 20_000,
        "GET http://h/ -> 500 in 3 ms" + " (after 1 try" * 20_000,
        "a." * 100_000,  # a word before each dot, none of them a URL's scheme
    ):
        started = time.perf_counter()
        normalize_message(hostile)
        assert time.perf_counter() - started < 1.0, hostile[:40]
    assert normalize_message("GET http://h/x -> 500 in 3 ms (after 3 tries)") == "GET http://h/x -> <n> in <n> ms"
    assert normalize_message("see git+ssh://example.com/repo.git?x=1") == "see git+ssh://example.com/repo.git"
    assert normalize_message("variable 'b' is not set (defined: a, c)") == "variable 'b' is not set"
