"""``autotest stats``, ``runs list --label`` and the attempts line of ``autotest status``, against the real API
app over in-memory services."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from shared.models.runs import RunStatus
from tests.conftest import BOOTSTRAP_KEY, FakeServices

Invoke = Callable[..., Result]
TEST = {"name": "Checkout works", "steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}
HEADERS = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}


@pytest.fixture
def app(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


@pytest.fixture
def run_cli(app: TestClient) -> Invoke:
    def invoke(*args: str) -> Result:
        state = CliState(api_url="http://testserver", api_key=BOOTSTRAP_KEY, transport=app._transport)
        state.console.width = 200
        return CliRunner().invoke(cli, list(args), obj=state)

    return invoke


def _flaky_run(app: TestClient, fakes: FakeServices, test_id: str, labels: dict[str, str] | None = None) -> str:
    run_id = str(
        app.post("/v1/runs", json={"test_id": test_id, "retries": 1, "labels": labels or {}}, headers=HEADERS).json()[
            "id"
        ]
    )
    for status, error in ((RunStatus.failed, "the cart was empty"), (RunStatus.passed, None)):
        taken = fakes.services.runs.take(fakes.queue.sent[-1][0])
        assert taken is not None
        fakes.services.runs.end_attempt(taken, status, error=error)
    return run_id


def test_the_user_sees_the_flaky_test_in_the_stats(run_cli: Invoke, app: TestClient, fakes: FakeServices) -> None:
    test_id = app.post("/v1/tests", json=TEST, headers=HEADERS).json()["id"]
    run_id = _flaky_run(app, fakes, test_id)

    status = run_cli("status", run_id)
    assert status.exit_code == 0, status.output
    assert "attempt 1 FAILED: the cart was empty, attempt 2 PASSED (flaky)" in status.output

    shown = run_cli("stats", test_id)
    assert shown.exit_code == 0, shown.output
    assert "Checkout works" in shown.output and "pass rate  100.0%" in shown.output
    assert "flaky      100.0%  1 passed only on a retry" in shown.output
    as_json = json.loads(run_cli("stats", test_id, "--window", "5", "--json").output)
    assert (as_json["window"], as_json["flaky"]) == (5, 1)

    flaky = run_cli("stats", "--flaky")
    assert flaky.exit_code == 0 and test_id in flaky.output and "Checkout works" in flaky.output

    assert run_cli("stats").exit_code != 0
    assert "give a TEST_ID" in run_cli("stats", test_id, "--flaky").output


def test_runs_list_filters_by_label(run_cli: Invoke, app: TestClient, fakes: FakeServices) -> None:
    test_id = app.post("/v1/tests", json=TEST, headers=HEADERS).json()["id"]
    staging = _flaky_run(app, fakes, test_id, {"app_version": "1.4.2", "environment": "staging"})
    other = _flaky_run(app, fakes, test_id, {"app_version": "1.4.1"})
    listed = run_cli("runs", "list", "--label", "app_version=1.4.2", "--label", "environment=staging")
    assert listed.exit_code == 0 and staging in listed.output and other not in listed.output
    assert "no runs match" in run_cli("runs", "list", "--label", "app_version=9").output
    assert "KEY=VALUE" in run_cli("runs", "list", "--label", "app_version").output
