"""``autotest audit`` against the real API app over in-memory services."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.commands.audit import since_of
from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from tests.conftest import BOOTSTRAP_KEY, FakeServices

Invoke = Callable[..., Result]
HEADERS = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
TEST = {"name": "Checkout works", "steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}


@pytest.fixture
def app(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


@pytest.fixture
def run_cli(app: TestClient) -> Callable[..., Result]:
    def invoke(*args: str, key: str = BOOTSTRAP_KEY) -> Result:
        state = CliState(api_url="http://testserver", api_key=key, transport=app._transport)
        state.console.width = 200
        return CliRunner().invoke(cli, list(args), obj=state)

    return invoke


def test_the_user_lists_filters_and_pages_the_audit_log(run_cli: Invoke, app: TestClient) -> None:
    assert "no audit records yet" in run_cli("audit").output
    test_id = app.post("/v1/tests", json=TEST, headers=HEADERS).json()["id"]
    app.put("/v1/secrets/TOKEN", json={"value": "s3cret-value"}, headers=HEADERS)
    made = app.post("/v1/keys", json={"name": "ci", "role": "editor"}, headers=HEADERS).json()

    shown = run_cli("audit")
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.output.splitlines() if not line.startswith("─")]
    assert lines[0].split() == ["at", "action", "resource", "rev", "key", "key", "id", "from"]
    assert "key.create" in lines[1] and "secret.put" in lines[2] and "secret:TOKEN" in lines[2]
    assert f"test:{test_id}" in lines[3] and "bootstrap" in lines[3] and "testclient" in lines[3]
    assert "s3cret-value" not in shown.output

    only_tests = run_cli("audit", "--resource", "test", "--json")
    assert [r["action"] for r in json.loads(only_tests.output)["items"]] == ["test.create"]
    assert "no audit records match" in run_cli("audit", "--actor", made["key_id"]).output
    assert "no audit records match" in run_cli("audit", "--since", "2999-01-01T00:00:00Z").output
    assert len(json.loads(run_cli("audit", "--since", "1h", "--json").output)["items"]) == 3

    first = run_cli("audit", "--limit", "2")
    assert "more: autotest audit ... --cursor" in first.output
    cursor = first.output.rsplit("--cursor", 1)[1].split()[0]
    rest = run_cli("audit", "--limit", "2", "--cursor", cursor, "--json")
    assert [r["action"] for r in json.loads(rest.output)["items"]] == ["test.create"]

    bad = run_cli("audit", "--resource", "widget")
    assert bad.exit_code != 0 and "resource" in bad.output
    assert run_cli("audit", "--since", "yesterday").exit_code != 0
    refused = run_cli("audit", key=made["api_key"])
    assert refused.exit_code != 0 and "admin" in refused.output


def test_since_reads_a_time_ago_and_passes_anything_else_on() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert since_of("30m", now=now) == "2026-12-01T11:30:00Z"
    assert since_of("12h", now=now) == "2026-12-01T00:00:00Z"
    assert since_of("7d", now=now) == "2026-11-24T12:00:00Z"
    assert since_of("2026-11-30T09:00:00+01:00", now=now) == "2026-11-30T09:00:00+01:00"
    assert since_of(None) is None and since_of("") is None
