"""report.html and junit.xml of a run attempt: pure builders, plus their upload through the collector."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from xml.dom import minidom

import pytest

from runner_container.runner.artifacts import ArtifactCollector, run_prefix
from runner_container.runner.report import MAX_EMBEDDED_BYTES, html_report, junit_report
from shared.models.runs import ArtifactRef, Attempt, Interruption, Iteration, Run, RunStatus, StepResult
from tests.fakes import FakeArtifacts

PREFIX = run_prefix("prj", "run_1", 2)
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"
STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def a_run(**fields: Any) -> Run:
    data: dict[str, Any] = {
        "id": "run_1",
        "project_id": "prj",
        "name": "Admin can log in",
        "kind": "browser",
        "status": "failed",
        "attempt": 2,
        "max_attempts": 2,
        "spec": {"steps": [{"action": "goto", "url": "http://example.test/"}]},
        "timeout_s": 60,
        "created_at": STARTED,
        "updated_at": STARTED,
        "started_at": STARTED,
        "ended_at": STARTED + timedelta(milliseconds=2500),
        "duration_ms": 2500,
        "browser_version": "Chromium 140.0",
        **fields,
    }
    return Run.model_validate(data)


def ref(name: str, kind: str, attempt: int = 2) -> ArtifactRef:
    return ArtifactRef.model_validate(
        {"name": name, "kind": kind, "key": f"{run_prefix('prj', 'run_1', attempt)}/{name}", "size": 2048}
    )


FAILED_STEPS = [
    StepResult(index=0, action="goto", status="passed", duration_ms=120),
    StepResult(
        index=1,
        action="click",
        target='role=button name="Log in"',
        locator='get_by_role("button", name="Log in")',
        matched_by="exact",
        status="failed",
        duration_ms=5000,
        error="matched nothing; the page has <button> & friends",
        screenshot=f"{PREFIX}/screenshots/step-001-failure.png",
    ),
    StepResult(index=2, action="expect_text", status="skipped"),
]


def parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - the builder's own output


# ------------------------------------------------------------------------------------- html


def test_html_report_shows_the_run_its_steps_and_links_artifacts_relatively() -> None:
    run = a_run(
        steps=FAILED_STEPS,
        variables={"base_url": "http://example.test", "token": "***"},
        error="step 2 (click) failed: matched nothing",
        artifacts=[
            ref("trace.zip", "trace", attempt=1),  # the previous attempt's: not this report's
            ref("screenshots/step-001-failure.png", "screenshot"),
            ref("trace.zip", "trace"),
            ref("video.webm", "video"),
        ],
    )

    page = html_report(run, prefix=PREFIX, images={FAILED_STEPS[1].screenshot or "": PNG}).decode()

    assert page.startswith("<!DOCTYPE html>") and "<title>Admin can log in: failed</title>" in page
    for shown in ("run_1", "2 of 2", "2.50 s", "Chromium 140.0", "2026-01-02T03:04:05.000+00:00"):
        assert shown in page
    assert "get_by_role(&#34;button&#34;, name=&#34;Log in&#34;)" in page
    assert "matched: exact" in page
    assert "the page has &lt;button&gt; &amp; friends" in page
    assert '<td class="mono">token</td><td class="mono">***</td>' in page
    assert 'href="trace.zip"' in page and 'href="video.webm"' in page
    assert 'href="screenshots/step-001-failure.png"' in page
    assert "attempt-1" not in page
    assert f"data:image/png;base64,{base64.b64encode(PNG).decode()}" in page
    assert page.count("<tr>") == 1 + 2 + 1 + 3 + 1 + 3  # header + rows of variables, steps, artifacts


def test_html_report_names_the_attempts_that_were_interrupted() -> None:
    at = STARTED - timedelta(minutes=1)
    interruption = Interruption(attempt=1, reason="its worker stopped responding (no heartbeat for 120s)", at=at)
    run = a_run(status=RunStatus.passed, attempt=2, max_attempts=1, interruptions=[interruption])

    page = html_report(run, prefix=PREFIX).decode()

    assert "<dt>Attempt</dt><dd>2 of 2</dd>" in page
    assert "<dt>Attempt 1</dt><dd>interrupted: its worker stopped responding (no heartbeat for 120s)" in page
    assert "run again as attempt 2" in page and "flaky" not in page


def test_html_report_names_the_attempts_that_failed_before() -> None:
    failed = Attempt(attempt=1, status="failed", ended_at=STARTED - timedelta(minutes=1), error="no Log in button")
    run = a_run(status=RunStatus.passed, attempt=2, max_attempts=2, flaky=True, attempts=[failed])

    page = html_report(run, prefix=PREFIX).decode()

    assert "<dt>Attempt 1</dt><dd>failed: no Log in button" in page and "retried" in page


class Markup(HTMLParser):
    """What a browser would build of a page: its elements with their attributes, and its text."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "' onmouseover='x"])
def test_html_report_shows_user_content_as_text_only(evil: str) -> None:
    # Given markup in everything a user or the tested system controls
    step = StepResult(
        index=0,
        action="fill",
        target=evil,
        description=evil,
        locator=evil,
        status="failed",
        error=evil,
        screenshot=f"{PREFIX}/screenshots/{evil}.png",
    )
    rows = [Iteration(index=0, variables={evil: evil}, status=RunStatus.failed, steps=[step])]
    runs = [
        a_run(
            name=evil,
            error=evil,
            labels={evil: evil},
            variables={evil: evil},
            steps=[step],
            artifacts=[ref(f"screenshots/{evil}.png", "screenshot"), ref(f"{evil}.log", "log")],
            artifact_errors=[evil],
        ),
        a_run(name=evil, iterations=rows, artifacts=[ref(f"screenshots/{evil}.png", "screenshot")]),
    ]
    for run in runs:
        # When the report is rendered (the failure screenshot embedded, then only linked)
        for images in ({step.screenshot or "": PNG}, {}):
            page = Markup(html_report(run, prefix=PREFIX, images=images).decode())

            # Then no element or attribute came from the content, which is shown as text
            tags = {tag for tag, _ in page.elements}
            assert "script" not in tags
            assert not [name for _, attrs in page.elements for name in attrs if name.startswith("on")]
            assert {attrs.get("src") or "" for tag, attrs in page.elements if tag == "img"} <= {
                f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
            }
            hrefs = [attrs["href"] or "" for tag, attrs in page.elements if tag == "a" and "href" in attrs]
            assert hrefs and all(not set(href) & set('"<> ') for href in hrefs)  # percent-encoded
            assert "".join(page.text).count(evil) >= 4


def test_html_report_has_a_section_per_dataset_row() -> None:
    rows = [
        Iteration(index=0, variables={"user": "ann"}, status=RunStatus.passed, steps=[FAILED_STEPS[0]]),
        Iteration(index=1, variables={"user": "bob"}, status=RunStatus.failed, steps=FAILED_STEPS),
    ]
    run = a_run(iterations=rows, artifacts=[ref("row-2/screenshots/step-001-failure.png", "screenshot")])

    page = html_report(run, prefix=PREFIX).decode()

    assert '<section id="row-1">' in page and '<section id="row-2">' in page
    assert page.index("ann") < page.index('<section id="row-2">') < page.index("bob")
    assert "<h2>Steps</h2>" not in page


def test_an_oversized_failure_screenshot_is_linked_not_embedded() -> None:
    run = a_run(steps=FAILED_STEPS, artifacts=[ref("screenshots/step-001-failure.png", "screenshot")])
    big = b"\x89PNG" + b"\0" * MAX_EMBEDDED_BYTES

    page = html_report(run, prefix=PREFIX, images={FAILED_STEPS[1].screenshot or "": big}).decode()

    assert "data:image/png" not in page
    assert '<a href="screenshots/step-001-failure.png">the screenshot of the failure</a>' in page


# ------------------------------------------------------------------------------------ junit


def test_junit_has_one_testcase_per_step_with_failures_and_skips() -> None:
    root = parse(junit_report(a_run(steps=FAILED_STEPS)))

    suite = root.find("testsuite")
    assert suite is not None and len(root.findall("testsuite")) == 1
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "Admin can log in",
        "3",
        "1",
        "1",
    )
    assert suite.get("time") == "2.500" and suite.get("timestamp") == "2026-01-02T03:04:05+00:00"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "step 1: goto",
        'step 2: click role=button name="Log in"',
        "step 3: expect_text",
    ]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "matched nothing; the page has <button> & friends"
    assert 'locator: get_by_role("button", name="Log in")' in (failure.text or "")
    assert cases[2].find("skipped") is not None
    properties = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert properties["attempt"] == "2" and properties["browser"] == "Chromium 140.0"


def test_junit_has_one_case_per_dataset_row_and_counts_errors() -> None:
    error_step = StepResult(index=0, action="request", status="error", error="secret 'X' was not loaded")
    rows = [
        Iteration(index=0, status=RunStatus.passed, steps=[FAILED_STEPS[0]]),
        Iteration(index=1, status=RunStatus.error, steps=[error_step]),
    ]

    suite = parse(junit_report(a_run(status="error", iterations=rows))).find("testsuite")

    assert suite is not None and (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("2", "1", "0")
    cases = list(suite.iter("testcase"))
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("Admin can log in", "row 1"),
        ("Admin can log in", "row 2"),
    ]
    error = cases[1].find("error")
    assert error is not None and error.get("message") == "step 1 (request): secret 'X' was not loaded"


def test_a_run_that_ended_without_a_failed_step_gets_a_run_testcase() -> None:
    steps = [FAILED_STEPS[0], FAILED_STEPS[2]]
    cancelled = parse(junit_report(a_run(status="cancelled", error="cancelled by request", steps=steps)))
    invalid = parse(junit_report(a_run(status="error", error="undefined variables: {{x}}")))

    case = cancelled.find("testsuite/testcase[@name='run']/error")
    assert case is not None and case.get("message") == "cancelled by request" and case.get("type") == "cancelled"
    assert invalid.get("tests") == "1" and invalid.find("testsuite/testcase/error") is not None


def test_junit_is_valid_xml_whatever_the_error_text_holds() -> None:
    step = StepResult(index=0, action="goto", status="failed", error='\x1b[31mred\x1b[0m <&> \x00 "quoted" ]]>')

    failure = parse(junit_report(a_run(steps=[step]))).find("testsuite/testcase/failure")

    assert failure is not None and failure.get("message") == '\ufffd[31mred\ufffd[0m <&> \ufffd "quoted" ]]>'


def test_junit_is_well_formed_with_forbidden_characters_in_names_labels_and_errors() -> None:
    # Given a run whose name, steps and errors hold terminal escapes, NUL and lone surrogates
    dirty = "\x1b[2J \x00 \ud800 \udfff \x0b"
    steps = [
        StepResult(index=0, action="click", target=f"t {dirty}", description=f"d {dirty}", status="passed"),
        StepResult(index=1, action="fill", target=f"t {dirty}", status="failed", error=f"e {dirty}", locator=dirty),
        StepResult(index=2, action="goto", status="skipped"),
    ]
    run = a_run(name=f"n {dirty}", error=f"r {dirty}", steps=steps, browser_version=f"b {dirty}")

    # When its junit.xml is built
    data = junit_report(run)

    # Then strict parsers read it, and its structure is that of any failed run
    minidom.parseString(data)  # noqa: S318 - the builder's own output
    suite = parse(data).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    assert suite.get("name") == "n \ufffd[2J \ufffd \ufffd \ufffd \ufffd"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "step 1: click d \ufffd[2J \ufffd \ufffd \ufffd \ufffd (t \ufffd[2J \ufffd \ufffd \ufffd \ufffd)",
        "step 2: fill t \ufffd[2J \ufffd \ufffd \ufffd \ufffd",
        "step 3: goto",
    ]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "e \ufffd[2J \ufffd \ufffd \ufffd \ufffd"


# ----------------------------------------------------------------------------------- upload


async def test_reports_upload_from_memory_with_their_content_types() -> None:
    store = FakeArtifacts()
    collector = ArtifactCollector(store, PREFIX, backoff_s=0)
    run = a_run(steps=FAILED_STEPS)

    collector.add_data("report.html", "report", html_report(run, prefix=PREFIX))
    collector.add_data("junit.xml", "junit", junit_report(run))
    report = await collector.upload_all()

    assert [(r.name, r.kind, r.content_type) for r in report.uploaded] == [
        ("report.html", "report", "text/html; charset=utf-8"),
        ("junit.xml", "junit", "application/xml"),
    ]
    data, _ = store.objects[f"{PREFIX}/junit.xml"]
    assert report.uploaded[1].size == len(data) and parse(data).tag == "testsuites"
