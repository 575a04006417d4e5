"""The client side of the CLI against a scripted API (httpx.MockTransport): exit codes, JUnit XML,
one-line errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch
from xml.dom import minidom

import httpx
import pytest
import yaml
from click.testing import CliRunner

from cli import junit
from cli.junit import RunOutcome
from cli.main import cli
from cli.state import CliState

LOGIN_TEST = """
name: Admin can log in
tags: [smoke]
variables: {base_url: "http://127.0.0.1:8001"}
steps:
  - {action: goto, url: "{{base_url}}/login"}
  - {action: click, target: {role: button, name: Log in}}
"""


def a_run(run_id: str = "run_1", status: str = "queued", **changes: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "id": run_id,
        "test_id": None,
        "revision": None,
        "name": "Admin can log in",
        "kind": "browser",
        "status": status,
        "attempt": 1,
        "max_attempts": 1,
        "trigger": "cli",
        "created_at": "2026-01-01T00:00:00Z",
        "duration_ms": 1234 if status not in ("queued", "running") else None,
        "steps": [],
        "iterations": [],
        "error": None,
    }
    return {**run, **changes}


def step(index: int, status: str = "passed", error: str | None = None) -> dict[str, Any]:
    return {"index": index, "action": "goto", "target": None, "status": status, "duration_ms": 12, "error": error}


def status_event(run_id: str, status: str) -> str:
    return f"event: status\ndata: {json.dumps({'run_id': run_id, 'status': status, 'attempt': 1})}\n\n"


def step_event(run_id: str, s: dict[str, Any]) -> str:
    return f"event: step\ndata: {json.dumps({'run_id': run_id, 'attempt': 1, 'step': s})}\n\n"


class FakeApi:
    """Answers like the API: POST /v1/runs queues, the events stream plays ``script``, GET returns ``final``."""

    def __init__(
        self, final: dict[str, Any], *, stream: bool = True, stream_steps: bool = True, throttled: bool = False
    ) -> None:
        self.final = final
        self.stream = stream
        self.throttled = throttled
        self.stream_steps = stream_steps
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        run_id = self.final["id"]
        if request.method == "POST" and path == "/v1/runs":
            return httpx.Response(202, json=a_run(run_id))
        if path == f"/v1/runs/{run_id}/events":
            if not self.stream:
                return httpx.Response(404, json={"error": {"code": "not_found", "message": "no route"}})
            if self.throttled:
                error = {"code": "throttled", "message": "this project already has 20 open event streams"}
                return httpx.Response(429, json={"error": error}, headers={"Retry-After": "5"})
            body = status_event(run_id, "queued") + status_event(run_id, "running")
            body += "".join(step_event(run_id, s) for s in self.final["steps"]) if self.stream_steps else ""
            body += status_event(run_id, self.final["status"])
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        if path == f"/v1/runs/{run_id}":
            return httpx.Response(200, json=self.final)
        if path == f"/v1/runs/{run_id}/artifacts":
            url = f"http://s3.local/{run_id}/report.html"
            return httpx.Response(200, json={"artifacts": [{"name": "report.html", "kind": "report", "url": url}]})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": f"no route {path}"}})


def junit_root(path: Path) -> ET.Element:
    return ET.parse(path).getroot()  # noqa: S314 - the CLI's own output


def invoke(handler: Callable[[httpx.Request], httpx.Response], args: list[str]) -> Any:
    state = CliState(api_url="http://api.test", api_key="atk_test", transport=httpx.MockTransport(handler))
    return CliRunner().invoke(cli, args, obj=state)


@pytest.fixture
def test_file(tmp_path: Path) -> Path:
    path = tmp_path / "login.yaml"
    path.write_text(LOGIN_TEST)
    return path


@pytest.mark.parametrize(
    ("status", "code"),
    [("passed", 0), ("failed", 1), ("error", 2), ("timed_out", 2), ("cancelled", 2)],
)
def test_wait_exit_code_follows_the_run_status(test_file: Path, status: str, code: int) -> None:
    steps = [step(0), step(1, "failed" if status == "failed" else "passed", "boom" if status == "failed" else None)]
    api = FakeApi(a_run("run_1", status, steps=steps))

    result = invoke(api, ["run", str(test_file), "--wait"])

    assert result.exit_code == code, result.output
    assert status.upper() in result.output


def test_run_file_sends_the_inline_spec_with_trigger_cli_and_vars(test_file: Path) -> None:
    api = FakeApi(a_run("run_1", "passed", steps=[step(0)]))

    result = invoke(api, ["run", str(test_file), "--var", "base_url=http://x:1", "--var", "n=3"])

    assert result.exit_code == 0, result.output
    body = json.loads(api.requests[0].content)
    assert body["trigger"] == "cli"
    assert body["variables"] == {"base_url": "http://x:1", "n": 3}
    assert body["spec"]["name"] == "Admin can log in"
    assert body["spec"]["tags"] == ["smoke"]  # the test file is sent as it is
    assert api.requests[0].headers["authorization"] == "Bearer atk_test"
    assert "run_1" in result.output


def test_step_progress_is_printed_live(test_file: Path) -> None:
    api = FakeApi(a_run("run_1", "failed", steps=[step(0), step(1, "failed", "no button named 'Log in'")]))

    result = invoke(api, ["run", str(test_file), "--wait"])

    assert result.exit_code == 1
    assert "1. goto" in result.output and "2. goto" in result.output
    assert "no button named 'Log in'" in result.output
    assert "report.html" in result.output and "http://s3.local/run_1/report.html" in result.output


def test_junit_is_valid_xml_with_the_failure(test_file: Path, tmp_path: Path) -> None:
    api = FakeApi(a_run("run_1", "failed", steps=[step(0), step(1, "failed", "expected 'Welcome'")]))
    out = tmp_path / "reports" / "junit.xml"

    result = invoke(api, ["run", str(test_file), "--junit", str(out)])  # --junit implies --wait

    assert result.exit_code == 1, result.output
    root = junit_root(out)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "1", "0")
    case = root.find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == "Admin can log in"
    assert case.get("classname") == "autotest.browser"
    assert case.get("time") == "1.234"
    failure = case.find("failure")
    assert failure is not None
    assert "expected 'Welcome'" in (failure.get("message") or "")
    assert "run: run_1" in (case.findtext("system-out") or "")


def test_junit_for_a_passed_run_has_no_failure(test_file: Path, tmp_path: Path) -> None:
    api = FakeApi(a_run("run_1", "passed", steps=[step(0)]))
    out = tmp_path / "junit.xml"

    result = invoke(api, ["run", str(test_file), "--wait", "--junit", str(out)])

    assert result.exit_code == 0, result.output
    case = junit_root(out).find("testsuite/testcase")
    assert case is not None and case.find("failure") is None and case.find("error") is None


def test_without_an_event_stream_the_cli_polls(test_file: Path) -> None:
    api = FakeApi(a_run("run_1", "passed", steps=[step(0), step(1)]), stream=False)

    result = invoke(api, ["run", str(test_file), "--wait"])

    assert result.exit_code == 0, result.output
    assert "2. goto" in result.output
    assert any(r.url.path == "/v1/runs/run_1" and r.method == "GET" for r in api.requests)


def test_when_the_project_has_too_many_streams_open_the_cli_polls(test_file: Path) -> None:
    # (a 429 from the events route: more streams than the deployment allows this project)
    api = FakeApi(a_run("run_1", "passed", steps=[step(0), step(1)]), throttled=True)

    result = invoke(api, ["run", str(test_file), "--wait"])

    assert result.exit_code == 0, result.output
    assert "2. goto" in result.output
    assert [r.url.path for r in api.requests].count("/v1/runs/run_1/events") == 1  # not tried again and again
    assert any(r.url.path == "/v1/runs/run_1" and r.method == "GET" for r in api.requests)


def test_wait_timeout_exits_2_with_an_error_in_the_junit(test_file: Path, tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json=a_run("run_1"))
        if request.url.path.endswith("/events"):  # the stream ends at once, the run never does
            queued = status_event("run_1", "queued")
            return httpx.Response(200, text=queued, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=a_run("run_1", "running"))

    out = tmp_path / "junit.xml"
    result = invoke(handler, ["run", str(test_file), "--wait", "--timeout", "1", "--junit", str(out)])

    assert result.exit_code == 2, result.output
    assert "gave up waiting" in result.output
    error = junit_root(out).find("testsuite/testcase/error")
    assert error is not None and "still running" in (error.get("message") or "")


def test_an_api_error_is_one_line_with_the_apis_message(test_file: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            422, json={"error": {"code": "validation_error", "message": "body.spec.steps[0].url: required"}}
        )

    result = invoke(handler, ["run", str(test_file)])

    assert result.exit_code == 2
    assert result.output.strip() == "error: body.spec.steps[0].url: required (HTTP 422)"


def test_connection_refused_says_to_start_local_mode(test_file: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = invoke(handler, ["status", "run_1"])

    assert result.exit_code == 2
    assert result.output.strip() == "error: cannot reach http://api.test: is `autotest local` running?"
    assert "Traceback" not in result.output


def test_a_bad_test_file_is_reported_with_its_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsteps:\n  - {action: goto}\n")

    result = invoke(lambda r: httpx.Response(500), ["tests", "create", "-f", str(path)])

    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}: steps[0]")
    assert "url" in result.output


def test_missing_api_key_is_explained(test_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOTEST_API_KEY", raising=False)
    monkeypatch.delenv("AUTOTEST_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no .autotest/ here
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # no local mode recorded
    state = CliState(api_url="http://api.test", transport=httpx.MockTransport(lambda r: httpx.Response(200)))

    result = CliRunner().invoke(cli, ["runs", "list"], obj=state)

    assert result.exit_code == 2
    assert "no API key" in result.output


def test_the_config_file_supplies_url_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOTEST_API_KEY", raising=False)
    monkeypatch.delenv("AUTOTEST_API_URL", raising=False)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": "http://from-config:9", "api_key": "atk_cfg"}))
    monkeypatch.setenv("AUTOTEST_CONFIG", str(config))
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    result = CliRunner().invoke(cli, ["tests", "list"], obj=CliState(transport=httpx.MockTransport(handler)))

    assert result.exit_code == 0, result.output
    assert str(seen[0].url).startswith("http://from-config:9/v1/tests")
    assert seen[0].headers["authorization"] == "Bearer atk_cfg"


def test_tests_create_and_list(test_file: Path) -> None:
    created = {"id": "tst_1", "name": "Admin can log in", "kind": "browser", "revision": 1}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert json.loads(request.content)["tags"] == ["smoke"]
            return httpx.Response(201, json=created)
        if request.url.params.get("q"):  # create looks for a test of that name first: none yet
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        item = {**created, "tags": ["smoke"], "updated_at": "2026-01-01T00:00:00Z"}
        return httpx.Response(200, json={"items": [item], "next_cursor": None})

    made = invoke(handler, ["tests", "create", "-f", str(test_file)])
    listed = invoke(handler, ["tests", "list", "--tag", "smoke"])

    assert made.exit_code == 0 and "created tst_1" in made.output
    assert listed.exit_code == 0 and "tst_1" in listed.output and "smoke" in listed.output


def test_artifacts_download(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/runs/run_1/artifacts":
            items = [
                {"name": "report.html", "kind": "report", "url": "http://s3.local/r"},
                {"name": "screenshots/step-000.png", "kind": "screenshot", "url": "http://s3.local/s"},
                {"name": "../escape.txt", "kind": "other", "url": "http://s3.local/e"},
            ]
            return httpx.Response(200, json={"artifacts": items})
        assert "authorization" not in request.headers  # presigned URLs get no API key
        return httpx.Response(200, content=request.url.path.encode())

    result = invoke(handler, ["artifacts", "run_1", "--download", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").read_bytes() == b"/r"
    assert (tmp_path / "out" / "screenshots" / "step-000.png").read_bytes() == b"/s"
    assert (tmp_path / "out" / "escape.txt").read_bytes() == b"/e"  # kept inside the directory


def test_several_runs_exit_with_the_worst_status(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(LOGIN_TEST)
    second.write_text(LOGIN_TEST.replace("Admin can log in", "Second"))
    finals = {"run_a": a_run("run_a", "passed", steps=[step(0)]), "run_b": a_run("run_b", "failed", steps=[step(0)])}
    posted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST":
            run_id = "run_a" if not posted else "run_b"
            posted.append(run_id)
            return httpx.Response(202, json=a_run(run_id))
        run_id = path.split("/")[3]
        if path.endswith("/events"):
            text = status_event(run_id, finals[run_id]["status"])
            return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})
        if path.endswith("/artifacts"):
            return httpx.Response(200, json={"artifacts": []})
        return httpx.Response(200, json=finals[run_id])

    out = tmp_path / "junit.xml"
    result = invoke(handler, ["run", str(first), str(second), "--wait", "--junit", str(out)])

    assert result.exit_code == 1, result.output
    assert "1/2 passed" in result.output
    root = junit_root(out)
    assert (root.get("tests"), root.get("failures")) == ("2", "1")


def test_a_step_line_says_what_the_step_did() -> None:
    from cli.output import step_what

    assert step_what({"target": 'label="Username"'}) == 'label="Username"'
    assert step_what({"detail": "http://x/login"}) == "http://x/login"
    assert step_what({"target": 'css="#count"', "detail": '"2 items"'}) == 'css="#count" "2 items"'
    assert step_what({"description": "log in", "target": "x"}) == "log in"


def test_a_step_line_says_when_the_exact_name_chose_the_element() -> None:
    from cli.output import step_line

    base = {"index": 1, "action": "click", "target": 'role=button name="Save"', "status": "passed"}
    assert "(exact name)" in step_line(base | {"matched_by": "exact"})
    assert "(name ignoring case)" in step_line(base | {"matched_by": "normalized"})
    assert "(" not in step_line(base | {"matched_by": "substring"}).split("Save")[1]  # the plain match: no note


@pytest.mark.parametrize(("name", "label"), [("Admin can log in", "Admin can log in"), (None, "tst_01ABC")])
def test_a_saved_test_is_labelled_by_its_name_live_and_in_junit(tmp_path: Path, name: str | None, label: str) -> None:
    final = a_run("run_1", "passed", test_id="tst_01ABC", name=name, steps=[step(0)])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":  # the API answers with the test's name
            assert json.loads(request.content)["test_id"] == "tst_01ABC"
            return httpx.Response(202, json=a_run("run_1", test_id="tst_01ABC", name=name))
        return FakeApi(final)(request)

    out = tmp_path / "junit.xml"
    result = invoke(handler, ["run", "tst_01ABC", "--wait", "--junit", str(out)])

    assert result.exit_code == 0, result.output
    assert f"▶ {label}  run_1" in result.output
    assert f"PASSED  {label}  run_1" in result.output  # the results
    case = junit_root(out).find("testsuite/testcase")
    assert case is not None and case.get("name") == label


def rows_streamed(rows: list[dict[str, Any]], final: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    """The API of a data-driven run whose events stream each row's steps, then ``final``'s status."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            body = status_event("run_1", "running")
            for row in rows:
                for s in row["steps"]:
                    payload = {"run_id": "run_1", "attempt": 1, "iteration": row["index"], "step": s}
                    body += f"event: step\ndata: {json.dumps(payload)}\n\n"
            body += status_event("run_1", final["status"])
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        return FakeApi(final)(request)

    return handler


def test_dataset_steps_are_labelled_with_their_row(test_file: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"index": i, "variables": {}, "status": "passed", "steps": [step(0), step(1)]} for i in range(2)
    ]
    handler = rows_streamed(rows, a_run("run_1", "passed", iterations=rows))

    result = invoke(handler, ["run", str(test_file), "--wait"])
    status = invoke(handler, ["status", "run_1"])

    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines() if "goto" in line][:4]
    assert [line.split("✓")[0].strip() for line in lines] == ["row 1", "row 1", "row 2", "row 2"]
    assert [line for line in status.output.splitlines() if "goto" in line][2].strip().startswith("row 2")


def test_a_large_datasets_progress_shows_the_first_rows_and_then_only_what_did_not_pass(test_file: Path) -> None:
    # Given 40 rows of 2 steps, row 30's second step failing
    rows: list[dict[str, Any]] = [
        {"index": i, "variables": {}, "status": "passed", "steps": [step(0), step(1)]} for i in range(40)
    ]
    rows[29] |= {"status": "failed", "steps": [step(0), step(1, "failed", "expected 200, got 500")]}
    final = a_run("run_1", "failed", iterations=rows, error="dataset row 30 did not pass (of 40)")
    handler = rows_streamed(rows, final)

    result = invoke(handler, ["run", str(test_file), "--wait"])

    # Then the progress shows every step of the first 5 rows, the failed step of row 30, and a count of rows
    # ended, not 80 step lines
    assert result.exit_code == 1, result.output
    progress = result.output.split("rows: ")[0]
    step_lines = [line.strip() for line in progress.splitlines() if "goto" in line]
    assert [line.split()[1] for line in step_lines] == [*(str(n) for n in range(1, 6) for _ in range(2)), "30"]
    assert "expected 200, got 500" in progress
    assert "rows ended" in progress
    assert "rows: 39 passed, 1 failed (of 40)" in result.output


def test_a_run_executed_again_after_an_interruption_says_so_in_results_and_status(test_file: Path) -> None:
    interruption = {"attempt": 1, "reason": "local mode restarted while it ran", "at": "2026-01-01T10:11:12Z"}
    final = a_run("run_1", "passed", steps=[step(0)], attempt=2, interruptions=[interruption])

    results = invoke(FakeApi(final), ["run", str(test_file), "--wait"])
    shown = invoke(FakeApi(final), ["status", "run_1"])

    for result in (results, shown):
        assert result.exit_code == 0, result.output
        assert "attempt 2/2 (1 interrupted)" in result.output
        assert "attempt 1 interrupted: local mode restarted while it ran" in result.output


def test_junit_is_well_formed_whatever_the_server_sent(tmp_path: Path) -> None:
    # Given runs whose names and errors hold what XML 1.0 forbids: terminal escapes, NUL, a lone surrogate
    dirty = "\x1b[31mred\x1b[0m \x00 \ud800 <&> ]]>"
    clean = "\ufffd[31mred\ufffd[0m \ufffd \ufffd <&> ]]>"
    failed = a_run("run_1", "failed", steps=[step(0), step(1, "failed", f"expected {dirty}")], error=f"bad {dirty}")
    outcomes = [
        RunOutcome(label=f"login {dirty}", run=failed),
        RunOutcome(label="gave up", run=a_run("run_2", "running"), error=f"lost {dirty}"),
        RunOutcome(label="fine", run=a_run("run_3", "passed", steps=[step(0)])),
    ]
    out = tmp_path / "junit.xml"

    # When the CLI writes its JUnit file
    junit.write(out, outcomes)

    # Then strict parsers read it, with the counts and elements of today and the text kept but those characters
    minidom.parse(str(out))  # noqa: S318 - the CLI's own output
    root = junit_root(out)
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("3", "1", "1", "0")
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [f"login {clean}", "gave up", "fine"]
    failure, error = cases[0].find("failure"), cases[1].find("error")
    assert failure is not None and failure.get("message") == f"bad {clean}" and clean in (failure.text or "")
    assert error is not None and error.get("message") == f"lost {clean}" and error.get("type") == "cli"
    assert [len(list(c)) for c in cases] == [2, 2, 1]  # failure/error + system-out, system-out


def test_every_problem_of_a_test_file_is_on_a_line_of_its_own(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - {action: goto, url: /}\n  - {action: click, taget: {text: Go}}\n")

    result = invoke(FakeApi(a_run()), ["run", str(bad)])

    assert result.exit_code == 2
    assert "\\x0a" not in result.output
    assert "2 problems\n  steps[1].target (step 2): Field required\n  steps[1].taget (step 2):" in result.output


def test_a_directory_runs_each_test_file_in_it(tmp_path: Path) -> None:
    folder = tmp_path / "suite"
    folder.mkdir()
    for name in ("b.yaml", "a.json"):
        (folder / name).write_text(LOGIN_TEST if name.endswith(".yaml") else json.dumps(yaml.safe_load(LOGIN_TEST)))
    (folder / "notes.txt").write_text("not a test")
    api = FakeApi(a_run("run_1", "passed", steps=[step(0)]))

    result = invoke(api, ["run", str(folder)])
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = invoke(api, ["run", str(empty)])

    assert result.exit_code == 0, result.output
    sent = [json.loads(r.content)["labels"]["file"] for r in api.requests if r.method == "POST"]
    assert [Path(f).name for f in sent] == ["a.json", "b.yaml"]
    assert nothing.exit_code == 2 and "a directory with no test files in it" in nothing.output


def test_download_implies_wait(test_file: Path, tmp_path: Path) -> None:
    api = FakeApi(a_run("run_1", "passed", steps=[step(0)]))
    with patch("cli.client.ApiClient.download", return_value=3) as download:
        result = invoke(api, ["run", str(test_file), "--download", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "1/1 passed" in result.output and download.call_count == 1


def test_steps_the_stream_did_not_bring_are_shown_before_the_result(test_file: Path) -> None:
    # Given a run that ended before it was followed: its stream brings the final status and no step
    api = FakeApi(a_run("run_1", "passed", steps=[step(0), step(1)]), stream_steps=False)

    result = invoke(api, ["run", str(test_file), "--wait"])

    # Then its steps are printed anyway, before its status
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    shown = [i for i, line in enumerate(lines) if " 1. " in line or " 2. " in line or "PASSED" in line]
    assert len(shown) >= 3 and "PASSED" in lines[shown[2]], result.output


def test_a_healed_step_shows_its_replacement() -> None:
    from cli.output import step_line

    line = step_line(
        {
            "index": 3,
            "action": "click",
            "target": "the Log in button",
            "status": "passed",
            "duration_ms": 20,
            "healed": True,
            "matched_by": "healed",
            "heal": {"after": 'role=button name="Sign in"'},
        }
    )
    assert 'the Log in button [yellow](healed: role=button name="Sign in")[/]' in line
    assert "(close name)" in step_line({"index": 0, "action": "fill", "status": "passed", "matched_by": "fuzzy"})


def test_junit_marks_retried_attempts_as_surefire_reruns() -> None:
    import xml.etree.ElementTree as ET

    from cli import junit

    attempts = [
        {"attempt": 1, "status": "failed", "error": "step 2: expected text"},
        {"attempt": 2, "status": "interrupted", "error": "local mode restarted"},
        {"attempt": 3, "status": "passed"},
    ]
    flaky = {"id": "run_1", "status": "passed", "attempt": 3, "flaky": True, "attempts": attempts}
    earlier = [{"attempt": 1, "status": "error", "error": "crash"}, {"attempt": 2, "status": "failed"}]
    failed = {"id": "run_2", "status": "failed", "attempt": 2, "error": "boom", "attempts": earlier}
    root = ET.fromstring(  # noqa: S314 - our own output
        junit.build([junit.RunOutcome(label="a", run=flaky), junit.RunOutcome(label="b", run=failed)])
    )
    first, second = root.findall(".//testcase")
    assert [e.tag for e in first] == ["flakyFailure", "system-out"]  # interrupted is not a rerun
    assert first.find("flakyFailure").get("message") == "attempt 1: step 2: expected text"  # type: ignore[union-attr]
    assert [e.tag for e in second][:2] == ["failure", "rerunError"]
    assert root.get("failures") == "1"  # a flaky pass is a pass


def test_junit_of_a_data_driven_run_has_a_case_per_row_with_its_failed_checks() -> None:
    import xml.etree.ElementTree as ET

    def step(index: int, name: str, status: str, **more: Any) -> dict[str, Any]:
        return {"index": index, "action": "request", "description": name, "status": status, **more}

    checks = [
        {"check": "status 200", "passed": True, "expected": "200", "actual": "200"},
        {"check": 'jsonpath $.name equals "Brad"', "passed": False, "expected": "'Brad'", "actual": "'Bread'"},
    ]
    rows = [
        {
            "index": 0,
            "status": "passed",
            "duration_ms": 50,
            "variables": {"id": "1"},
            "steps": [step(0, "Login", "passed")],
        },
        {
            "index": 1,
            "status": "failed",
            "duration_ms": 70,
            "variables": {"id": "2", "name": "Brad"},
            "steps": [
                step(0, "Login", "passed"),
                step(1, "Item by id", "failed", error="expected 'Brad'", checks=checks),
            ],
        },
        {"index": 2, "status": "cancelled", "duration_ms": 0, "variables": {}, "steps": [step(0, "Login", "skipped")]},
    ]
    run = {"id": "run_1", "kind": "api", "status": "failed", "attempt": 1, "duration_ms": 150, "iterations": rows}

    report = [{"name": "report.html", "url": "http://127.0.0.1:8000/v1/artifacts/t/report.html"}]
    outcome = RunOutcome(label="Shop flow", run=run, artifacts=report)
    root = ET.fromstring(junit.build([outcome]))  # noqa: S314 - our own output

    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["Shop flow row 1", "Shop flow row 2", "Shop flow row 3"]
    assert [e.tag for e in cases[0]] == ["system-out"]
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "step 2 (request Item by id): expected 'Brad'"
    assert "[FAIL] 2. request Item by id" in (failure.text or "")
    assert "jsonpath $.name equals \"Brad\": expected 'Brad', got 'Bread'" in (failure.text or "")
    assert "row variables: id=2, name=Brad" in (failure.text or "")
    assert cases[2].find("skipped") is not None
    assert "report.html: http://127.0.0.1:8000/v1/artifacts/t/report.html" in (cases[1].findtext("system-out") or "")
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")


def test_junit_of_a_run_with_no_row_to_blame_says_why() -> None:
    import xml.etree.ElementTree as ET

    rows = [
        {
            "index": 0,
            "status": "passed",
            "duration_ms": 5,
            "steps": [{"index": 0, "action": "request", "status": "passed"}],
        }
    ]
    run = {"id": "run_1", "kind": "api", "status": "timed_out", "error": "the run timed out", "iterations": rows}

    root = ET.fromstring(junit.build([RunOutcome(label="t", run=run)]))  # noqa: S314 - our own output

    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["t row 1", "t"]
    assert cases[1].find("error").get("message") == "the run timed out"  # type: ignore[union-attr]
