"""``autotest suites ...`` against the real API app over in-memory services: create (and --replace), list, run,
status, cancel, runs; the hints for a suite run's id given where a run's belongs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from tests.conftest import BOOTSTRAP_KEY, FakeServices

Invoke = Callable[..., Result]


@pytest.fixture
def run_cli(fakes: FakeServices) -> Invoke:
    app = TestClient(create_app(fakes.services))

    def invoke(*args: str) -> Result:
        state = CliState(api_url="http://testserver", api_key=BOOTSTRAP_KEY, transport=app._transport)
        state.console.width = 200
        return CliRunner().invoke(cli, list(args), obj=state)

    return invoke


def saved_test(run_cli: Invoke, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(
        json.dumps({"name": name, "tags": ["smoke"], "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]})
    )
    made = run_cli("tests", "create", "-f", str(path), "--json")
    assert made.exit_code == 0, made.output
    return str(json.loads(made.output)["id"])


def test_create_list_run_status_cancel(run_cli: Invoke, tmp_path: Path) -> None:
    first, second = saved_test(run_cli, tmp_path, "first"), saved_test(run_cli, tmp_path, "second")
    suite_file = tmp_path / "scenario.yaml"
    suite_file.write_text(f"name: Scenario\nmode: sequential\ntests: [{first}, {second}]\nlabels: {{env: ci}}\n")
    made = run_cli("suites", "create", "-f", str(suite_file))
    assert made.exit_code == 0 and "created suite Scenario" in made.output, made.output
    again = run_cli("suites", "create", "-f", str(suite_file))
    assert again.exit_code != 0 and "already" in again.output
    suite_file.write_text(suite_file.read_text() + "fail_fast: true\n")
    replaced = run_cli("suites", "create", "-f", str(suite_file), "--replace")
    assert replaced.exit_code == 0 and "updated suite Scenario" in replaced.output

    listed = run_cli("suites", "list")
    assert "Scenario" in listed.output and "sequential" in listed.output and "2 tests" in listed.output
    assert " 5" not in listed.output.split("Scenario", 1)[1].splitlines()[0]  # no max_parallel for a scenario

    started = run_cli("suites", "run", "scenario", "--label", "app_version=1.4.2", "--json")
    assert started.exit_code == 0, started.output
    suite_run = json.loads(started.output)
    assert suite_run["labels"] == {"env": "ci", "app_version": "1.4.2"}

    status = run_cli("suites", "status", suite_run["id"])
    assert "Scenario" in status.output and "started by cli" in status.output and "app_version=1.4.2" in status.output
    runs = run_cli("suites", "runs", "Scenario", "--label", "app_version=1.4.2")
    assert suite_run["id"] in runs.output

    cancelled = run_cli("suites", "cancel", suite_run["id"])
    assert cancelled.exit_code == 0 and "CANCELLED" in cancelled.output.upper(), cancelled.output
    assert "1 cancelled, 1 skipped" in cancelled.output

    hint = run_cli("cancel", suite_run["id"])
    assert hint.exit_code != 0 and f"autotest suites cancel {suite_run['id']}" in hint.output
    missing = run_cli("suites", "run", "Nope")
    assert missing.exit_code != 0 and "no suite is named 'Nope'" in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmode: random\n")
    refused = run_cli("suites", "create", "-f", str(bad))
    assert refused.exit_code != 0 and "mode" in refused.output
