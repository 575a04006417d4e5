"""``autotest notifications ...`` against the API over in-memory services."""

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


def test_create_list_deliveries_delete(run_cli: Invoke, fakes: FakeServices) -> None:
    made = run_cli("notifications", "create", "--webhook", "http://127.0.0.1:9/hook", "--on", "failure,recovery")
    assert made.exit_code == 0, made.output
    [target] = fakes.notification_store.targets.values()
    assert target.secret in made.output and "shown once" in made.output
    assert target.on == ["failure", "recovery"]

    listed = run_cli("notifications", "list")
    assert listed.exit_code == 0 and target.id in listed.output and target.secret not in listed.output
    as_json = run_cli("notifications", "list", "--json")
    assert [t["id"] for t in json.loads(as_json.output)["items"]] == [target.id]

    deliveries = run_cli("notifications", "deliveries", target.id)
    assert deliveries.exit_code == 0 and "no deliveries yet" in deliveries.output

    deleted = run_cli("notifications", "delete", target.id)
    assert deleted.exit_code == 0 and fakes.notification_store.targets == {}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give one of --webhook URL or --slack URL"),
        (["--webhook", "http://127.0.0.1:9/", "--on", "sometimes"], "--on: sometimes"),
        (["--webhook", "http://169.254.169.254/"], "the cloud metadata endpoint"),
    ],
)
def test_create_says_what_is_wrong(run_cli: Invoke, args: list[str], says: str) -> None:
    result = run_cli("notifications", "create", *args)
    assert result.exit_code != 0
    assert says in result.output


def test_a_suite_is_named_by_its_name_or_its_id(run_cli: Invoke, fakes: FakeServices, tmp_path: Path) -> None:
    test = tmp_path / "t.json"
    test.write_text(json.dumps({"name": "Home", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}))
    test_id = json.loads(run_cli("tests", "create", "-f", str(test), "--json").output)["id"]
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: Nightly\ntests: [{test_id}]\n")
    assert run_cli("suites", "create", "-f", str(suite)).exit_code == 0
    (stored_suite,) = fakes.suite_store.suites.values()

    by_name = run_cli("notifications", "create", "--webhook", "http://127.0.0.1:9/hook", "--suite", "Nightly")
    by_id = run_cli("notifications", "create", "--webhook", "http://127.0.0.1:9/hook", "--suite", stored_suite.id)
    assert by_name.exit_code == 0 and by_id.exit_code == 0, by_name.output + by_id.output
    targets = list(fakes.notification_store.targets.values())
    assert [(t.suite_id, t.scope) for t in targets] == [(stored_suite.id, "suite_runs")] * 2
    missing = run_cli("notifications", "create", "--webhook", "http://127.0.0.1:9/hook", "--suite", "Weekly")
    assert missing.exit_code != 0 and "no suite is named 'Weekly'" in missing.output
    shown = run_cli("notifications", "create", "--help").output
    assert "ste_" in shown and "sui_" not in shown
