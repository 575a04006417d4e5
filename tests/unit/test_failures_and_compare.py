"""``GET /v1/failures``, ``GET /v1/runs/{id}/compare/{other_id}``, the dashboard's group-by-failure view, and
``autotest failures`` / ``autotest runs compare``, against the real API app over in-memory services."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from shared.models.messages import RunMessage
from shared.models.runs import CheckResult, Heal, Run, RunStatus, StepResult
from shared.models.suites import SuiteCreate, SuiteRunCreate
from shared.services.comparison import compare_runs
from tests.conftest import BOOTSTRAP_KEY, FakeServices

HEADERS = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
UI_KEY = b"u" * 32
LOGIN: list[dict[str, Any]] = [
    {"action": "goto", "url": "http://127.0.0.1:9/login"},
    {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
    {"action": "fill", "target": {"label": "Password"}, "value": "pw"},
    {"action": "click", "target": {"role": "button", "name": "Log in"}},
    {"action": "expect_text", "text": "Welcome, admin"},
]
TIMEOUT = "Locator.click: Timeout 5000ms exceeded."
Invoke = Callable[..., Result]


@pytest.fixture
def app(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, ui_session_key=UI_KEY), base_url="http://127.0.0.1")


@pytest.fixture
def run_cli(app: TestClient) -> Invoke:
    def invoke(*args: str) -> Result:
        state = CliState(api_url="http://127.0.0.1", api_key=BOOTSTRAP_KEY, transport=app._transport)
        state.console.width = 220
        return CliRunner().invoke(cli, list(args), obj=state)

    return invoke


def api(app: TestClient, method: str, path: str, key: str = BOOTSTRAP_KEY, **kwargs: Any) -> Any:
    response = app.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def browser_steps(failing_at: int | None, *, error: str = TIMEOUT, durations: int = 100, heal: bool = False) -> list:
    out = []
    for index, step in enumerate(LOGIN):
        target = {1: 'label="Username"', 2: 'label="Password"', 3: 'role=button name="Log in"'}.get(index)
        status = "passed" if failing_at is None or index < failing_at else "skipped"
        if index == failing_at:
            status = "failed"
        result = StepResult(
            index=index,
            action=step["action"],
            target=target,
            detail="Welcome, admin" if index == 4 else None,
            status=status,  # type: ignore[arg-type]
            duration_ms=durations + index * 10 if status != "skipped" else 0,
            error=error if index == failing_at else None,
            locator='get_by_role("button", name="Log in")' if index == 3 and status == "passed" else None,
            matched_by="exact" if index == 3 and status == "passed" else None,
        )
        if heal and index == 3:
            result.heal = Heal(
                before='role=button name="Log in"',
                after='role=button name="Sign in"',
                replacement={"role": "button", "name": "Sign in"},
                locator='get_by_role("button", name="Sign in")',
                score=0.8,
                source="fuzzy",
                reason="matched nothing",
            )
            result.healed, result.matched_by = True, "healed"
        out.append(result)
    return out


def finish(fakes: FakeServices, run_id: str, status: RunStatus, **changes: Any) -> Run:
    run = fakes.store.get_run(run_id)
    taken = fakes.services.runs.take(RunMessage(run_id=run.id, project_id=run.project_id, attempt=run.attempt))
    assert taken is not None
    return fakes.services.runs.end_attempt(taken, status, **changes)


def a_run(
    app: TestClient, fakes: FakeServices, test_id: str, status: RunStatus, key: str = BOOTSTRAP_KEY, **changes: Any
) -> str:
    run_id = str(api(app, "POST", "/v1/runs", key, json={"test_id": test_id})["id"])
    finish(fakes, run_id, status, **changes)
    return run_id


def login_test(app: TestClient, name: str = "Admin can log in", key: str = BOOTSTRAP_KEY) -> str:
    return str(api(app, "POST", "/v1/tests", key, json={"name": name, "steps": LOGIN})["id"])


def api_test(app: TestClient) -> str:
    body = {
        "name": "Orders API",
        "steps": [{"action": "request", "method": "GET", "url": "http://127.0.0.1:9/api/orders/1"}],
    }
    return str(api(app, "POST", "/v1/tests", json=body)["id"])


def request_step(status: int, *, body_ok: bool = True) -> StepResult:
    checks = [CheckResult(check="status 200", passed=status == 200, expected="200", actual=str(status))]
    checks.append(
        CheckResult(check='jsonpath $.name equals "Apples"', passed=body_ok, expected='"Apples"', actual='"Pears"')
    )
    failed = status != 200 or not body_ok
    error = None
    if failed:
        error = f"GET http://127.0.0.1:9/api/orders/1 -> {status} in 4 ms: expected status 200, got {status}"
    return StepResult(
        index=0,
        action="request",
        detail="GET http://127.0.0.1:9/api/orders/1",
        status="failed" if failed else "passed",
        duration_ms=40 if failed else 25,
        error=error,
        checks=checks,
    )


# ---------------------------------------------------------------------------------- comparison


def test_a_passing_and_a_failing_browser_run_compared(app: TestClient, fakes: FakeServices, run_cli: Invoke) -> None:
    test_id = login_test(app)
    good = a_run(app, fakes, test_id, RunStatus.passed, steps=browser_steps(None))
    bad = a_run(app, fakes, test_id, RunStatus.failed, steps=browser_steps(3, durations=150), error=TIMEOUT)

    got = api(app, "GET", f"/v1/runs/{good}/compare/{bad}")

    assert got["headline"] == f"step 4 'click role=button name=\"Log in\"' passed -> failed ({TIMEOUT})"
    assert got["same_test"] and got["same_revision"] and got["same_plan"] and got["notes"] == []
    assert got["changed_steps"] == [3, 4]
    click = got["steps"][3]
    assert (click["base"]["status"], click["other"]["status"]) == ("passed", "failed")
    assert click["duration_diff_ms"] == 50 and click["resolution_changed"] and click["same_step"]
    assert click["base"]["locator"] == 'get_by_role("button", name="Log in")' and click["other"]["locator"] is None
    assert got["steps"][4]["change"] == "step 5 'expect_text Welcome, admin' passed -> skipped"
    assert got["steps"][0]["duration_diff_ms"] == 50 and not got["steps"][0]["status_changed"]
    assert got["other"]["failure"]["kind"] == "timeout" and got["base"]["failure"] is None
    # and the other way round
    back = api(app, "GET", f"/v1/runs/{bad}/compare/{good}")
    assert back["headline"] == f"step 4 'click role=button name=\"Log in\"' failed -> passed (was: {TIMEOUT})"

    shown = run_cli("runs", "compare", good, bad)
    assert shown.exit_code == 0, shown.output
    assert "step 4 'click role=button name=\"Log in\"' passed -> failed" in shown.output
    assert f"step 4 (second): {TIMEOUT}" in shown.output and "+50 ms" in shown.output
    assert "first" in shown.output and good in shown.output and bad in shown.output
    as_json = json.loads(run_cli("runs", "compare", good, bad, "--json").output)
    assert as_json["changed_steps"] == [3, 4]


def test_a_heal_shows_as_a_changed_resolution(app: TestClient, fakes: FakeServices) -> None:
    test_id = login_test(app)
    plain = a_run(app, fakes, test_id, RunStatus.passed, steps=browser_steps(None))
    healed = a_run(app, fakes, test_id, RunStatus.passed, steps=browser_steps(None, heal=True))
    got = api(app, "GET", f"/v1/runs/{plain}/compare/{healed}")
    assert got["changed_steps"] == [] and got["headline"].startswith("no step changed status (both runs passed)")
    click = got["steps"][3]
    assert click["resolution_changed"] and click["other"]["healed_to"] == 'role=button name="Sign in"'
    assert click["other"]["matched_by"] == "healed" and click["base"]["matched_by"] == "exact"


def test_a_passing_and_a_failing_api_run_compared(app: TestClient, fakes: FakeServices, run_cli: Invoke) -> None:
    test_id = api_test(app)
    good = a_run(app, fakes, test_id, RunStatus.passed, steps=[request_step(200)])
    bad = a_run(app, fakes, test_id, RunStatus.failed, steps=[request_step(500, body_ok=False)], error="x")
    got = api(app, "GET", f"/v1/runs/{good}/compare/{bad}")
    step = got["steps"][0]
    assert (step["base"]["http_status"], step["other"]["http_status"]) == (200, 500)
    assert step["base"]["failing_checks"] == []
    assert [c["check"] for c in step["other"]["failing_checks"]] == ["status 200", 'jsonpath $.name equals "Apples"']
    assert got["headline"].startswith("step 1 'request GET http://127.0.0.1:9/api/orders/1' passed -> failed (GET")
    shown = run_cli("runs", "compare", good, bad)
    assert "HTTP 200" in shown.output and "HTTP 500" in shown.output
    assert "check status 200: expected 200, got 500" in shown.output


def test_runs_of_other_plans_revisions_and_step_counts_say_so(app: TestClient, fakes: FakeServices) -> None:
    test_id = login_test(app)
    first = a_run(app, fakes, test_id, RunStatus.passed, steps=browser_steps(None))
    api(
        app,
        "POST",
        f"/v1/tests/{test_id}/revisions",
        json={"steps": [*LOGIN, {"action": "expect_title", "text": "Home"}]},
    )
    extra = StepResult(
        index=5, action="expect_title", detail="Home", status="failed", error="expected the title 'Home'"
    )
    second = a_run(app, fakes, test_id, RunStatus.failed, steps=[*browser_steps(None), extra], error="x")
    got = api(app, "GET", f"/v1/runs/{first}/compare/{second}")
    assert got["same_test"] and not got["same_revision"] and not got["same_plan"]
    assert got["notes"] == [
        "the runs are of different revisions: 1 and 2",
        "the runs have different plans (their steps as written differ)",
        "the runs have different step counts: 5 and 6",
    ]
    assert got["steps"][5]["base"] is None and got["steps"][5]["change"] == (
        "step 6 'expect_title Home' only in the second run (failed)"
    )
    assert got["headline"] == got["steps"][5]["change"]
    other_test = a_run(app, fakes, login_test(app, "Another"), RunStatus.passed, steps=browser_steps(None))
    notes = api(app, "GET", f"/v1/runs/{first}/compare/{other_test}")["notes"]
    assert notes[0].startswith("the runs are of different tests")


def test_a_run_of_another_project_is_not_found(app: TestClient, fakes: FakeServices, run_cli: Invoke) -> None:
    mine = a_run(app, fakes, login_test(app), RunStatus.passed, steps=browser_steps(None))
    other = api(app, "POST", "/v1/projects", json={"name": "other"})
    theirs = a_run(app, fakes, login_test(app, key=other["api_key"]), RunStatus.failed, other["api_key"], error="x")
    for path, key in (
        (f"/v1/runs/{mine}/compare/{theirs}", BOOTSTRAP_KEY),
        (f"/v1/runs/{theirs}/compare/{mine}", BOOTSTRAP_KEY),
        (f"/v1/runs/{mine}/compare/{mine}", other["api_key"]),
        (f"/v1/runs/{mine}/compare/run_nope", BOOTSTRAP_KEY),
    ):
        response = app.get(path, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert run_cli("runs", "compare", mine, theirs).exit_code != 0


def test_a_data_driven_run_compares_its_first_row_that_did_not_pass() -> None:
    from shared.ids import utcnow
    from shared.models.runs import Iteration
    from shared.models.tests import TestKind, TestSpec

    def run(status: RunStatus, rows: list[Iteration]) -> Run:
        now = utcnow()
        spec = TestSpec.model_validate({"steps": [{"action": "request", "method": "GET", "url": "http://h/"}]})
        return Run(id=f"run_{status.value}", project_id="p", kind=TestKind.api, status=status, spec=spec,
                   timeout_s=60, created_at=now, updated_at=now, iterations=rows)  # fmt: skip

    passed = run(RunStatus.passed, [Iteration(index=0, status=RunStatus.passed, steps=[request_step(200)])])
    failed = run(
        RunStatus.failed,
        [
            Iteration(index=0, status=RunStatus.passed, steps=[request_step(200)]),
            Iteration(index=1, status=RunStatus.failed, steps=[request_step(404)]),
        ],
    )
    got = compare_runs(passed, failed)
    assert "run run_failed is data-driven: its dataset row 2 of 2 is compared" in got.notes
    assert got.steps[0].other is not None and got.steps[0].other.http_status == 404


# ------------------------------------------------------------------------------------ failures


def test_failures_are_listed_as_clusters_by_the_api_the_cli_and_the_dashboard(
    app: TestClient, fakes: FakeServices, run_cli: Invoke
) -> None:
    login, checkout = login_test(app), login_test(app, "Checkout <b>works</b>")
    passed = a_run(app, fakes, login, RunStatus.passed, steps=browser_steps(None))
    timeouts = [
        a_run(
            app,
            fakes,
            test,
            RunStatus.failed,
            steps=browser_steps(3, error=f"Locator.click: Timeout {ms}ms exceeded."),
            error="x",
        )
        for test, ms in ((login, 5000), (login, 6000), (checkout, 7000))
    ]
    hostile = "expected the page to contain the text '<script>alert(1)</script>' within 5 s"
    other = a_run(app, fakes, login, RunStatus.failed, steps=browser_steps(4, error=hostile), error=hostile)

    got = api(app, "GET", "/v1/failures")
    assert [c["count"] for c in got["clusters"]] == [3, 1] and got["failures"] == 4
    top = got["clusters"][0]
    assert top["sample_run_id"] == timeouts[-1] and set(top["run_ids"]) == set(timeouts)
    assert [(t["test_id"], t["count"]) for t in top["tests"]] == [(login, 2), (checkout, 1)]
    assert got["clusters"][1]["kind"] == "expectation" and got["clusters"][1]["sample_run_id"] == other
    assert api(app, "GET", "/v1/failures", params={"test_id": checkout})["failures"] == 1
    assert api(app, "GET", "/v1/failures", params={"since": "1m"})["failures"] == 4
    assert api(app, "GET", f"/v1/runs/{timeouts[0]}")["failure"]["signature"] == top["signature"]
    assert api(app, "GET", f"/v1/runs/{passed}")["failure"] is None

    # the CLI
    shown = run_cli("failures", "--since", "2h")
    assert shown.exit_code == 0, shown.output
    assert "click role=button" in shown.output and "Admin can log in (2)" in shown.output
    assert timeouts[-1] in shown.output and "4 failed runs in 2 clusters" in shown.output
    assert json.loads(run_cli("failures", "--json").output)["failures"] == 4
    assert "since" in run_cli("failures", "--since", "yesterday").output

    # the dashboard: the runs page links to the view, which links to the sample runs, all escaped
    page = app.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert csrf is not None
    app.post("/ui/login", data={"api_key": BOOTSTRAP_KEY, "csrf": csrf.group(1), "next": "/ui/runs"})
    assert 'href="/ui/failures"' in app.get("/ui/runs").text
    view = app.get("/ui/failures")
    assert view.status_code == 200, view.text
    assert f'href="/ui/runs/{timeouts[-1]}"' in view.text and f'href="/ui/runs/{other}"' in view.text
    assert f'href="/ui/tests/{checkout}"' in view.text
    assert "<script>alert" not in view.text and "&lt;script&gt;alert(&lt;n&gt;)&lt;/script&gt;" in view.text
    assert "Checkout &lt;b&gt;works&lt;/b&gt;" in view.text and "4 failed runs in 2 clusters" in view.text
    assert f'href="/ui/runs/{passed}"' not in view.text
    only = app.get("/ui/failures", params={"test_id": checkout, "since": "7d"})
    assert only.status_code == 200 and "1 failed run in 1 cluster" in only.text
    assert app.get("/ui/failures", params={"since": "soon"}).status_code == 422


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("yesterday", "query.since: 'yesterday' is neither a duration"),
        ("9999d", "longer than 366 days"),
        ("2999-01-01T00:00:00Z", "is in the future"),
    ],
)
def test_a_bad_window_is_a_422_that_says_why(app: TestClient, since: str, message: str) -> None:
    response = app.get("/v1/failures", params={"since": since}, headers=HEADERS)
    assert response.status_code == 422 and message in response.json()["error"]["message"]


def test_an_unknown_test_or_suite_is_a_404(app: TestClient) -> None:
    for params in ({"test_id": "tst_nope"}, {"suite_id": "ste_nope"}):
        assert app.get("/v1/failures", params=params, headers=HEADERS).status_code == 404


def test_the_suite_filter_takes_the_runs_of_that_suites_suite_runs(app: TestClient, fakes: FakeServices) -> None:
    suites = fakes.services.suites
    assert suites is not None
    project = "default"
    first, second = login_test(app), login_test(app, "Second")
    suite = suites.create(project, SuiteCreate.model_validate({"name": "Smoke", "tests": [first, second]}))
    started = suites.start(project, suite.id, SuiteRunCreate())
    children = [c.run_id for c in started.children]
    assert all(children)
    finish(fakes, children[0] or "", RunStatus.failed, steps=browser_steps(3), error=TIMEOUT)
    finish(fakes, children[1] or "", RunStatus.passed, steps=browser_steps(None))
    outside = a_run(app, fakes, first, RunStatus.failed, steps=browser_steps(3), error=TIMEOUT)

    of_suite = api(app, "GET", "/v1/failures", params={"suite_id": suite.id})
    assert [c["run_ids"] for c in of_suite["clusters"]] == [[children[0]]]
    assert of_suite["scanned"] == 2 and of_suite["suite_id"] == suite.id
    everywhere = api(app, "GET", "/v1/failures")
    assert set(everywhere["clusters"][0]["run_ids"]) == {children[0], outside}
