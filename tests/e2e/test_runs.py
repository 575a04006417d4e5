"""Real plans in Chromium against the example web app."""

from __future__ import annotations

import asyncio
import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from examples.webapp import ADMIN_PASSWORD, WebApp
from runner_container.runner.browser import BrowserPool
from runner_container.runner.executor import Disposition, RunExecutor
from shared.errors import Unavailable
from shared.models.runs import RunStatus
from tests.e2e.conftest import PROJECT, Harness, NoBrowser, make_harness
from tests.fakes import FakeArtifacts

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

LOGIN: list[dict[str, Any]] = [
    {"action": "goto", "url": "{{base_url}}/login"},
    {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
    {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
    {"action": "click", "target": {"role": "button", "name": "Log in"}},
    {"action": "expect_text", "text": "Welcome, admin"},
]


async def test_login_plan_passes_and_records_everything(pool: BrowserPool, webapp: WebApp) -> None:
    # Given a runner that records everything
    h = make_harness(pool, webapp.url, record_video=True, record_trace=True)

    # When the login plan runs
    run = await h.run([*LOGIN, {"action": "expect_url", "pattern": "/welcome"}])

    # Then it passed, every step is recorded with its locator and a screenshot
    assert run.status == RunStatus.passed, run.error
    assert [s.status for s in run.steps] == ["passed"] * 6
    assert run.steps[1].locator == 'get_by_label(re.compile("(?<!\\\\w)Username(?!\\\\w)", re.IGNORECASE))'
    assert (
        run.steps[3].locator
        == 'get_by_role("button", name=re.compile("(?<!\\\\w)Log\\\\s+in(?!\\\\w)", re.IGNORECASE))'
    )
    assert all(s.screenshot and s.screenshot in h.artifacts.objects for s in run.steps if s.action != "goto")
    kinds = {a.kind for a in run.artifacts}
    assert {"screenshot", "trace", "video", "report", "junit"} <= kinds
    # (the password shows as bullets: the video and the trace's screencast are kept)
    assert run.artifact_errors == []
    trace = next(data for key, (data, _) in h.artifacts.objects.items() if key.endswith("trace.zip"))
    with zipfile.ZipFile(io.BytesIO(trace)) as recorded:
        assert any(name.startswith("screencast/") for name in recorded.namelist())
    listed = {a.name: a.kind for a in h.runs.artifacts(PROJECT, run.id)}  # GET /v1/runs/{id}/artifacts
    assert listed["report.html"] == "report" and listed["junit.xml"] == "junit"
    report = h.artifacts.objects[f"runs/prj_e2e/{run.id}/attempt-1/report.html"]
    assert report[1].startswith("text/html") and b'href="trace.zip"' in report[0] and b'href="video.webm"' in report[0]
    assert all(a.key.startswith(f"runs/prj_e2e/{run.id}/attempt-1/") for a in run.artifacts)
    assert run.browser_version and run.browser_version.startswith("Chromium")
    assert h.statuses(run.id) == ["queued", "running", "passed"]
    assert run.duration_ms is not None and run.started_at and run.ended_at


async def test_secret_values_never_reach_results_or_artifacts(pool: BrowserPool, webapp: WebApp) -> None:
    h = make_harness(pool, webapp.url, record_trace=True)
    run = await h.run([*LOGIN, {"action": "expect_text", "text": "nobody sees this", "timeout_s": 0.5}])
    assert run.status == RunStatus.failed
    secret = ADMIN_PASSWORD.encode()
    assert secret not in run.model_dump_json().encode()
    for key, (data, _) in h.artifacts.objects.items():
        if key.endswith("trace.zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as trace:
                assert all(secret not in trace.read(name) for name in trace.namelist()), key
        else:
            assert secret not in data, key


async def test_failing_expectation_names_the_step_and_keeps_a_screenshot(harness: Harness) -> None:
    run = await harness.run([*LOGIN[:4], {"action": "expect_text", "text": "Welcome, bob", "timeout_s": 0.5}])

    assert run.status == RunStatus.failed
    failed = run.steps[4]
    assert failed.status == "failed"
    assert "Welcome, bob" in (failed.error or "") and "Welcome, admin" in (failed.error or "")
    assert run.error and run.error.startswith("step 5 (expect_text) failed")
    assert failed.screenshot and failed.screenshot.endswith("step-005-failure.png")
    assert harness.artifacts.objects[failed.screenshot][1] == "image/png"
    assert harness.statuses(run.id) == ["queued", "running", "failed"]
    # and the report shows the failure with its screenshot inline, junit.xml says which step failed
    prefix = f"runs/prj_e2e/{run.id}/attempt-1/"
    page = harness.artifacts.objects[prefix + "report.html"][0].decode()
    assert "data:image/png;base64," in page and "Welcome, bob" in page
    junit = ET.fromstring(harness.artifacts.objects[prefix + "junit.xml"][0])  # noqa: S314 - our own output
    failure = junit.find("testsuite/testcase/failure")
    assert failure is not None and "Welcome, bob" in failure.get("message", "")


async def test_missing_element_says_what_was_looked_for_and_found(harness: Harness) -> None:
    run = await harness.run(
        [
            {"action": "goto", "url": "{{base_url}}/login"},
            {"action": "click", "target": {"role": "button", "name": "Send"}, "timeout_s": 0.5},
            {"action": "expect_text", "text": "never reached"},
        ]
    )

    assert run.status == RunStatus.failed
    error = run.steps[1].error or ""
    assert 'role=button name="Send"' in error and "matched nothing" in error
    assert 'button "Log in"' in error  # what the page has instead
    assert run.steps[2].status == "skipped"


async def test_several_matches_fail_with_the_matches_listed(harness: Harness) -> None:
    run = await harness.run(
        [
            {"action": "goto", "url": "{{base_url}}/list"},
            {"action": "click", "target": {"role": "button", "name": "Remove"}},
        ]
    )

    assert run.status == RunStatus.failed
    error = run.steps[1].error or ""
    assert "matched 3 elements" in error and 'button "Remove"' in error


async def test_form_controls_descriptions_and_delayed_content(harness: Harness) -> None:
    run = await harness.run(
        [
            {"action": "goto", "url": "{{base_url}}/form"},
            {"action": "select", "target": {"label": "Favourite color"}, "value": "Blue"},
            {"action": "check", "target": {"label": "Subscribe to the newsletter"}},
            {"action": "check", "target": {"role": "radio", "name": "Medium"}},
            {"action": "fill", "target": {"placeholder": "Anything else?"}, "value": "{{note}}"},
            {"action": "click", "target": "the Save preferences button"},
            {"action": "expect_text", "target": {"css": "#summary"}, "text": "color: blue, newsletter: yes"},
            {"action": "extract", "target": {"css": "#summary"}, "var": "summary"},
            {"action": "goto", "url": "/delayed?ms=700"},
            {"action": "wait_for", "target": {"role": "button", "name": "Continue"}},
            {"action": "click", "target": "Continue"},
            {"action": "expect_text", "target": {"role": "status"}, "text": "Done"},
            {"action": "expect_title", "text": "Delayed"},
        ],
        spec={"variables": {"base_url": harness.base_url, "note": "fragile"}},
    )

    assert run.status == RunStatus.passed, run.error
    assert run.steps[5].locator == 'get_by_role("button", name="Save preferences", exact=True)'
    assert "size: medium" in str(run.variables["summary"])


async def test_run_timeout_ends_the_run_timed_out(harness: Harness) -> None:
    run = await harness.run(
        [
            {"action": "goto", "url": "{{base_url}}/slow?ms=4000"},
            {"action": "expect_text", "text": "Slow page"},
        ],
        timeout_s=1,
    )

    assert run.status == RunStatus.timed_out, run.steps
    assert run.error and "timeout of 1s" in run.error
    assert run.steps[0].status == "failed" and run.steps[1].status == "skipped"
    assert harness.statuses(run.id) == ["queued", "running", "timed_out"]


async def test_a_fixed_wait_longer_than_the_step_timeout_waits_all_of_it(pool: BrowserPool, webapp: WebApp) -> None:
    # Given a runner whose default step timeout (1 s) is shorter than the wait the test asks for
    h = make_harness(pool, webapp.url, step_timeout_s=1.0)
    run = await h.run([{"action": "goto", "url": "{{base_url}}/login"}, {"action": "wait_for", "ms": 1600}])

    # Then the wait is not silently cut to the step timeout
    assert run.status == RunStatus.passed, run.steps
    assert run.steps[1].duration_ms >= 1600


async def test_a_fixed_wait_cut_short_by_the_run_timeout_is_no_pass(harness: Harness) -> None:
    run = await harness.run(
        [{"action": "goto", "url": "{{base_url}}/login"}, {"action": "wait_for", "ms": 5000}], timeout_s=1
    )

    assert run.status == RunStatus.timed_out, run.steps
    assert run.steps[1].status == "failed" and "cut short" in (run.steps[1].error or "")


async def test_step_timeout_fails_the_step(harness: Harness) -> None:
    run = await harness.run(
        [
            {"action": "goto", "url": "{{base_url}}/delayed?ms=5000"},
            {"action": "expect_text", "target": {"role": "status"}, "text": "Ready", "timeout_s": 0.5},
        ]
    )

    assert run.status == RunStatus.failed
    assert "within 0.5s" in (run.steps[1].error or "") and "Loading" in (run.steps[1].error or "")


async def test_duplicate_message_runs_once(harness: Harness) -> None:
    _, message = harness.start([{"action": "goto", "url": "{{base_url}}/"}])

    # Two deliveries at the same time: one executes, the other sees the run held by a live worker
    first, second = await asyncio.gather(harness.execute(message), harness.execute(message))
    dispositions = sorted([first.disposition, second.disposition])
    assert dispositions == [Disposition.busy, Disposition.done]

    # A late redelivery of the finished attempt is dropped
    late = await harness.execute(message)
    assert late.disposition == Disposition.done
    assert late.run is not None and late.run.status == RunStatus.passed
    assert harness.statuses(message.run_id) == ["queued", "running", "passed"]


async def test_cancel_is_honoured_between_steps(harness: Harness) -> None:
    _, message = harness.start([{"action": "goto", "url": "{{base_url}}/"}] + [{"action": "wait_for", "ms": 250}] * 8)
    task = asyncio.create_task(harness.execute(message))
    for _ in range(200):  # until the first step is recorded
        if harness.store.get_run(message.run_id).steps:
            break
        await asyncio.sleep(0.05)

    harness.runs.cancel(PROJECT, message.run_id)
    await task

    run = harness.store.get_run(message.run_id)
    assert run.status == RunStatus.cancelled
    assert run.steps[-1].status == "skipped"
    assert harness.statuses(run.id) == ["queued", "running", "cancelled"]


async def test_failed_attempt_is_retried_and_marked_flaky(harness: Harness) -> None:
    key = uuid.uuid4().hex
    _, message = harness.start(
        [
            {"action": "goto", "url": f"{{{{base_url}}}}/flaky?key={key}"},
            {"action": "expect_text", "text": "Stable now", "timeout_s": 0.3},
        ],
        retries=1,
    )

    first = await harness.execute(message)
    assert first.run is not None and first.run.status == RunStatus.queued and first.run.attempt == 2
    retry, _ = harness.queue.sent.pop()
    assert retry.attempt == 2
    await harness.execute(retry)

    run = harness.store.get_run(message.run_id)
    assert run.status == RunStatus.passed and run.flaky
    assert {a.key.split("/")[3] for a in run.artifacts} == {"attempt-1", "attempt-2"}
    assert harness.statuses(run.id) == ["queued", "running", "queued", "running", "passed"]


async def test_a_run_executed_again_after_its_worker_went_silent_says_so(harness: Harness) -> None:
    # Given attempt 1 taken by a worker that then went silent (crashed) mid-run
    _, message = harness.start(
        [{"action": "goto", "url": "{{base_url}}/list"}, {"action": "expect_text", "text": "Bread"}]
    )
    assert harness.runs.take(message) is not None
    stale = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    harness.store.update_run(message.run_id, {"heartbeat_at": stale})

    # When the message is delivered to another worker
    first = await harness.execute(message)

    # Then the run is not executed in place: it is queued as attempt 2, with a message of its own
    assert first.disposition == Disposition.done  # the old message is done with
    assert first.run is not None and (first.run.status, first.run.attempt) == (RunStatus.queued, 2)
    retry, _ = harness.queue.sent.pop()
    assert retry.attempt == 2
    await harness.execute(retry)

    # and the run says it was executed twice: attempt 2, the interruption of attempt 1, not flaky
    run = harness.store.get_run(message.run_id)
    assert (run.status, run.attempt, run.flaky) == (RunStatus.passed, 2, False)
    assert [i.attempt for i in run.interruptions] == [1] and "stopped responding" in run.interruptions[0].reason
    assert {a.key.split("/")[3] for a in run.artifacts} == {"attempt-2"}
    report = harness.artifacts.objects[f"runs/prj_e2e/{run.id}/attempt-2/report.html"][0].decode()
    assert "<dt>Attempt</dt><dd>2 of 2</dd>" in report and "interrupted: its worker stopped responding" in report
    assert harness.statuses(run.id) == ["queued", "running", "queued", "running", "passed"]


async def test_request_steps_extract_and_chain(harness: Harness) -> None:
    run = await harness.run(
        [
            {
                "action": "request",
                "method": "POST",
                "url": "{{base_url}}/api/login",
                "json": {"username": "admin", "password": "{{secret:ADMIN_PASSWORD}}"},
                "extract": {"token": "$.token"},
                "expect": [{"status": 200}, {"jsonpath": "$.user.name", "equals": "admin"}],
            },
            {
                "action": "request",
                "url": "{{base_url}}/api/me",
                "headers": {"Authorization": "Bearer {{token}}"},
                "expect": [{"status": 200}, {"jsonpath": "$.roles", "contains": "admin"}],
            },
            {"action": "request", "url": "{{base_url}}/api/items/99", "expect": [{"status": 200}]},
        ]
    )

    assert run.status == RunStatus.failed
    assert [s.status for s in run.steps] == ["passed", "passed", "failed"], run.steps
    assert "expected status 200, got 404" in (run.steps[2].error or "")
    assert run.variables["token"] == "tok-example-123"


async def test_dataset_runs_the_plan_once_per_row(harness: Harness) -> None:
    run = await harness.run(
        [
            {"action": "goto", "url": "{{base_url}}/welcome?user={{user}}"},
            {"action": "expect_text", "text": "Welcome, {{expected}}", "timeout_s": 0.5},
        ],
        dataset=[{"user": "ann", "expected": "ann"}, {"user": "bob", "expected": "rob"}],
    )

    assert run.status == RunStatus.failed
    assert [it.status for it in run.iterations] == [RunStatus.passed, RunStatus.failed]
    assert run.iterations[1].variables == {"user": "bob", "expected": "rob"}
    assert run.error and "dataset row 2 did not pass" in run.error
    assert any("/row-2/screenshots/" in a.key for a in run.artifacts)


class ScreenshotsDown(FakeArtifacts):
    def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        if "/screenshots/" in key:
            raise Unavailable("S3 refused the screenshot")
        super().put_file(key, path, content_type=content_type)


async def test_failed_uploads_are_recorded_without_losing_the_result(pool: BrowserPool, webapp: WebApp) -> None:
    h = make_harness(pool, webapp.url, record_trace=True)
    h.executor = RunExecutor(
        runs=h.runs, artifacts=ScreenshotsDown(), secrets=h.secrets, pool=pool, config=h.executor.config
    )

    run = await h.run(
        [{"action": "goto", "url": "{{base_url}}/list"}, {"action": "expect_visible", "target": "Apples"}]
    )

    assert run.status == RunStatus.passed
    assert run.steps[1].screenshot is None  # never uploaded, so not referenced
    assert run.artifact_errors and "S3 refused the screenshot" in run.artifact_errors[0]
    assert "upload failed after 3 attempts" in run.artifact_errors[0]
    assert [a.name for a in run.artifacts] == ["trace.zip", "report.html", "junit.xml"]


async def test_runs_execute_concurrently_in_isolated_contexts(harness: Harness) -> None:
    # Both runs log in or not; cookies and pages of one never leak into the other.
    runs = await asyncio.gather(
        harness.run([*LOGIN]),
        harness.run([{"action": "goto", "url": "{{base_url}}/list"}, {"action": "expect_text", "text": "Bread"}]),
    )
    assert [r.status for r in runs] == [RunStatus.passed, RunStatus.passed]


# ------------------------------------------------------------------------- API runs: no browser


API_LOGIN: list[dict[str, Any]] = [
    {
        "action": "request",
        "method": "POST",
        "url": "{{base_url}}/api/login",
        "json": {"username": "admin", "password": "{{secret:ADMIN_PASSWORD}}"},
        "extract": {"token": "$.token"},
        "expect": [{"status": 200}],
    },
    {
        "action": "request",
        "url": "{{base_url}}/api/me",
        "headers": {"Authorization": "Bearer {{token}}"},
        "expect": [{"status": 200}, {"jsonpath": "$.user", "equals": "admin"}],
    },
]


async def test_an_api_dataset_run_needs_no_browser_and_records_no_video_or_trace(webapp: WebApp) -> None:
    # Given a runner whose pool has no browser, configured to record everything
    h = make_harness(NoBrowser(), webapp.url, record_video=True, record_trace=True, screenshots="every_step")

    # When an API test with a secret, extraction between steps and two dataset rows runs
    run = await h.run(
        [
            *API_LOGIN,
            {
                "action": "request",
                "url": "{{base_url}}/api/items/{{item}}",
                "expect": [{"status": 200}, {"jsonpath": "$.name", "equals": "{{name}}"}],
            },
        ],
        dataset=[{"item": "1", "name": "Apples"}, {"item": "99", "name": "Nothing"}],
    )

    # Then every row ran its request steps, the second one failing on its own
    assert run.kind == "api" and run.status == RunStatus.failed, run.error
    assert [it.status for it in run.iterations] == [RunStatus.passed, RunStatus.failed]
    assert [s.status for s in run.iterations[1].steps] == ["passed", "passed", "failed"]
    assert "expected status 200, got 404" in (run.iterations[1].steps[2].error or "")
    # and nothing of a browser was recorded: only the report and junit.xml
    assert run.browser_version is None
    assert sorted(a.name for a in run.artifacts) == ["exchanges.json", "junit.xml", "report.html"]
    page = h.artifacts.objects[f"runs/prj_e2e/{run.id}/attempt-1/report.html"][0]
    assert b'id="row-1"' in page and b'id="row-2"' in page and b"Browser</dt><dd>none" in page
    secret = ADMIN_PASSWORD.encode()
    assert secret not in run.model_dump_json().encode()
    assert all(secret not in data for data, _ in h.artifacts.objects.values())


async def test_an_api_dataset_run_reports_every_check_and_exchange(webapp: WebApp) -> None:
    # Given an API test whose second step checks with JSONPath filters and functions and with CEL
    h = make_harness(NoBrowser(), webapp.url)
    run = await h.run(
        [
            *API_LOGIN,
            {
                "action": "request",
                "url": "{{base_url}}/api/items/{{item}}",
                "headers": {"Authorization": "Bearer {{token}}"},
                "extract": {"item_name": "$.name"},
                "expect": [
                    {"status": 200},
                    {"jsonpath": "$.name", "equals": "{{name}}"},
                    {"jsonpath": "$[?length(@) > 0]", "exists": True},
                    {"expr": "response.status == 200 && body.name == vars.name"},
                ],
            },
        ],
        dataset=[{"item": "1", "name": "Apples"}, {"item": "2", "name": "Not bread"}],
    )

    # Then row 1 passed every check and row 2 failed the two that compare the name, each reported
    assert [it.status for it in run.iterations] == [RunStatus.passed, RunStatus.failed], run.error
    passed, failed = run.iterations[0].steps[2], run.iterations[1].steps[2]
    assert passed.tries == 1 and [c.passed for c in passed.checks] == [True, True, True, True, True]
    assert [c.check for c in passed.checks][-1] == "extract item_name = $.name"
    assert [c.passed for c in failed.checks] == [True, False, True, False, True]
    assert failed.checks[1].expected == "'Not bread'" and failed.checks[1].actual == "'Bread'"
    assert "expected 'response.status == 200 && body.name == vars.name' to be true" in (failed.error or "")
    # and the report shows each request and response, the Authorization header masked, and every check
    page = h.artifacts.objects[f"runs/prj_e2e/{run.id}/attempt-1/report.html"][0].decode()
    assert "Bearer tok-example-123" not in page and ADMIN_PASSWORD not in page  # (the token is no secret)
    assert page.count('<td class="mono">Authorization</td><td class="mono">***</td>') == 4  # 2 rows x 2 steps
    assert page.count("Response 200 in") == 6 and "/api/items/2" in page
    assert "expr response.status == 200 &amp;&amp; body.name == vars.name" in page
    # and junit.xml has one case per row, the second failing with its step's message
    junit = ET.fromstring(h.artifacts.objects[f"runs/prj_e2e/{run.id}/attempt-1/junit.xml"][0])  # noqa: S314 - ours
    suite = junit.find("testsuite")
    assert suite is not None
    cases = list(suite.iter("testcase"))
    assert [c.get("name") for c in cases] == ["row 1", "row 2"]
    failure = cases[1].find("failure")
    assert failure is not None and (failure.get("message") or "").startswith("step 3 (request")


async def test_an_api_run_keeps_timeout_guard_retries_and_cancellation(webapp: WebApp) -> None:
    h = make_harness(NoBrowser(), webapp.url)

    # The run's timeout ends a slow request and skips the rest
    slow = await h.run(
        [{"action": "request", "url": "{{base_url}}/slow?ms=1500"}, *API_LOGIN],
        timeout_s=1,
    )
    assert slow.status == RunStatus.timed_out and "timeout of 1s" in (slow.error or "")
    assert [s.status for s in slow.steps] == ["failed", "skipped", "skipped"]

    # The network guard checks every redirect hop
    refused = await h.run([{"action": "request", "url": "{{base_url}}/redirect?to=http://169.254.169.254/&code=307"}])
    assert refused.status == RunStatus.failed and "cloud metadata endpoint" in (refused.error or "")

    # A failed attempt is retried, each attempt with its own report
    key = uuid.uuid4().hex
    flaky_steps = [
        {"action": "request", "url": f"{{{{base_url}}}}/flaky?key={key}", "expect": [{"body_contains": "Stable now"}]}
    ]
    _, message = h.start(flaky_steps, retries=1)
    first = await h.execute(message)
    assert first.run is not None and first.run.status == RunStatus.queued
    retry, _ = h.queue.sent.pop()
    await h.execute(retry)
    flaky = h.store.get_run(message.run_id)
    assert flaky.status == RunStatus.passed and flaky.flaky
    reports = sorted(a.key.split("/", 3)[3] for a in flaky.artifacts if a.kind == "report")
    assert reports == ["attempt-1/report.html", "attempt-2/report.html"]

    # Cancellation is honoured between steps
    _, message = h.start([{"action": "request", "url": "{{base_url}}/slow?ms=150"}] * 10)
    task = asyncio.create_task(h.execute(message))
    for _ in range(200):
        if h.store.get_run(message.run_id).steps:
            break
        await asyncio.sleep(0.02)
    h.runs.cancel(PROJECT, message.run_id)
    await task
    cancelled = h.store.get_run(message.run_id)
    assert cancelled.status == RunStatus.cancelled and cancelled.steps[-1].status == "skipped"
