"""``autotest secrets set / list / delete`` against the real API app (FastAPI TestClient over in-memory
services): values from a hidden prompt or stdin, never echoed, never an argument."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

import cli.commands.secrets as secrets_command
from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from tests.conftest import BOOTSTRAP_KEY, FakeServices

VALUE = "hunter2-9b1f"
Invoke = Callable[..., Result]


@pytest.fixture
def app(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


@pytest.fixture
def run_cli(app: TestClient) -> Invoke:
    def invoke(*args: str, input: str | None = None, key: str = BOOTSTRAP_KEY) -> Result:
        state = CliState(api_url="http://testserver", api_key=key, transport=app._transport)
        state.console.width = 200
        return CliRunner().invoke(cli, list(args), obj=state, input=input)

    return invoke


@pytest.fixture
def a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets_command, "_interactive", lambda: True)


def test_set_asks_twice_without_echo_and_never_prints_the_value(
    run_cli: Invoke, fakes: FakeServices, a_terminal: None
) -> None:
    result = run_cli("secrets", "set", "ADMIN_PASSWORD", input=f"{VALUE}\n{VALUE}\n")

    assert result.exit_code == 0, result.output
    assert VALUE not in result.output
    assert "Value of ADMIN_PASSWORD" in result.output and "Repeat for confirmation" in result.output
    assert "saved secret ADMIN_PASSWORD" in result.output and "{{secret:ADMIN_PASSWORD}}" in result.output
    assert fakes.secret_store.get("default", "ADMIN_PASSWORD") == VALUE


def test_set_asks_again_when_the_two_entries_differ(run_cli: Invoke, fakes: FakeServices, a_terminal: None) -> None:
    result = run_cli("secrets", "set", "TOKEN", input=f"one\ntwo\n{VALUE}\n{VALUE}\n")

    assert result.exit_code == 0, result.output
    assert "do not match" in result.output and VALUE not in result.output and "one" not in result.output
    assert fakes.secret_store.get("default", "TOKEN") == VALUE


def test_set_from_stdin_drops_one_trailing_newline(run_cli: Invoke, fakes: FakeServices) -> None:
    piped = run_cli("secrets", "set", "TOKEN", "--from-stdin", input=f"{VALUE}\n")
    kept = run_cli("secrets", "set", "PEM", "--from-stdin", input="line 1\nline 2\n\n")

    assert piped.exit_code == 0 and kept.exit_code == 0, piped.output + kept.output
    assert VALUE not in piped.output
    assert fakes.secret_store.get("default", "TOKEN") == VALUE
    assert fakes.secret_store.get("default", "PEM") == "line 1\nline 2\n"


def test_set_without_a_terminal_says_to_pipe_the_value(run_cli: Invoke, fakes: FakeServices) -> None:
    result = run_cli("secrets", "set", "TOKEN", input=f"{VALUE}\n")

    assert result.exit_code == 2
    assert "no terminal to ask for the value of TOKEN: pipe it in with --from-stdin" in result.output
    assert fakes.secret_store.stored == {}


def test_the_value_is_no_command_line_argument(run_cli: Invoke, fakes: FakeServices) -> None:
    result = run_cli("secrets", "set", "TOKEN", VALUE)

    assert result.exit_code == 2 and "unexpected extra argument" in result.output.lower()
    assert fakes.secret_store.stored == {}


def test_a_bad_name_is_refused_before_asking_for_the_value(run_cli: Invoke, a_terminal: None) -> None:
    result = run_cli("secrets", "set", "1BAD", input=f"{VALUE}\n{VALUE}\n")

    assert result.exit_code == 2 and "Value of" not in result.output
    assert "'1BAD': a secret name starts with a letter or '_'" in result.output


def test_an_empty_value_from_stdin_is_refused(run_cli: Invoke, fakes: FakeServices) -> None:
    result = run_cli("secrets", "set", "TOKEN", "--from-stdin", input="\n")

    assert result.exit_code == 2 and "cannot be empty" in result.output
    assert fakes.secret_store.stored == {}


def test_list_shows_names_and_times_and_delete_removes(run_cli: Invoke, fakes: FakeServices) -> None:
    assert run_cli("secrets", "list").output.strip() == "no secrets yet: set one with `autotest secrets set NAME`"
    run_cli("secrets", "set", "B_TOKEN", "--from-stdin", input="b")
    run_cli("secrets", "set", "A_TOKEN", "--from-stdin", input=VALUE)

    listed = run_cli("secrets", "list")
    as_json = json.loads(run_cli("secrets", "list", "--json").output)
    deleted = run_cli("secrets", "delete", "A_TOKEN")
    again = run_cli("secrets", "delete", "A_TOKEN")

    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["name", "updated", "source"]
    assert [line.split()[0] for line in lines[2:]] == ["A_TOKEN", "B_TOKEN"]
    assert VALUE not in listed.output and VALUE not in json.dumps(as_json)
    assert [s["name"] for s in as_json["items"]] == ["A_TOKEN", "B_TOKEN"]
    assert deleted.exit_code == 0 and "deleted secret A_TOKEN" in deleted.output
    assert again.exit_code == 2 and "secret A_TOKEN not found in this project (HTTP 404)" in again.output
    assert [n for (_, n) in fakes.secret_store.stored] == ["B_TOKEN"]


def test_secrets_are_the_calling_projects(run_cli: Invoke, app: TestClient, fakes: FakeServices) -> None:
    made = app.post("/v1/projects", json={"name": "b"}, headers={"X-API-Key": BOOTSTRAP_KEY}).json()
    run_cli("secrets", "set", "TOKEN", "--from-stdin", input=VALUE)

    other = run_cli("secrets", "list", key=made["api_key"])
    delete = run_cli("secrets", "delete", "TOKEN", key=made["api_key"])

    assert "no secrets yet" in other.output
    assert delete.exit_code == 2
    assert fakes.secret_store.get("default", "TOKEN") == VALUE
