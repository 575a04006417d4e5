"""The CLI's test and run management commands against the real API app (FastAPI TestClient over
in-memory services): tests show / revise / archive, duplicate names, cancel, and the one-line hints."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.config import resolve
from cli.main import cli
from cli.output import table, timestamp
from cli.state import CliState
from functions.api.app import create_app
from shared.models.messages import RunMessage
from shared.models.runs import RunStatus
from tests.conftest import BOOTSTRAP_KEY, FakeServices

LOGIN = """
name: Admin can log in
tags: [smoke]
description: The admin logs in.
variables: {base_url: "http://127.0.0.1:8001"}
steps:
  - {action: goto, url: "{{base_url}}/login"}
  - {action: click, target: {role: button, name: Log in}}
"""

Invoke = Callable[..., Result]


@pytest.fixture
def app(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


@pytest.fixture
def run_cli(app: TestClient) -> Invoke:
    def invoke(*args: str, width: int = 200) -> Result:
        state = CliState(api_url="http://testserver", api_key=BOOTSTRAP_KEY, transport=app._transport)
        state.console.width = width
        return CliRunner().invoke(cli, list(args), obj=state)

    return invoke


@pytest.fixture
def login_file(tmp_path: Path) -> Path:
    path = tmp_path / "login.yaml"
    path.write_text(LOGIN)
    return path


def created_id(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["id"])


# ------------------------------------------------------------------------------- tests ...


def test_create_refuses_a_second_test_with_the_same_name(run_cli: Invoke, login_file: Path, app: TestClient) -> None:
    first = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))

    again = run_cli("tests", "create", "-f", str(login_file))

    assert again.exit_code == 2
    assert again.output.count("\n") == 1  # one line
    assert f"a test named 'Admin can log in' already exists ({first})" in again.output
    assert f"autotest tests revise {first} -f {login_file}" in again.output
    listed = app.get("/v1/tests", headers={"X-API-Key": BOOTSTRAP_KEY}).json()["items"]
    assert [t["id"] for t in listed] == [first]


def test_create_compares_names_exactly_and_allow_duplicate_overrides(
    run_cli: Invoke, login_file: Path, tmp_path: Path
) -> None:
    created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))
    longer = tmp_path / "longer.yaml"
    longer.write_text(LOGIN.replace("Admin can log in", "Admin can log in twice"))

    other = run_cli("tests", "create", "-f", str(longer))  # q= matches it as a substring: not the same name
    duplicate = run_cli("tests", "create", "-f", str(login_file), "--allow-duplicate")

    assert other.exit_code == 0, other.output
    assert duplicate.exit_code == 0, duplicate.output
    assert "created tst_" in duplicate.output


def test_create_ignores_archived_tests_of_that_name(run_cli: Invoke, login_file: Path) -> None:
    first = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))
    assert run_cli("tests", "archive", first).exit_code == 0

    again = run_cli("tests", "create", "-f", str(login_file))

    assert again.exit_code == 0, again.output


def test_show_prints_the_test_and_its_latest_spec(run_cli: Invoke, login_file: Path) -> None:
    test_id = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))

    shown = run_cli("tests", "show", test_id)
    as_json = run_cli("tests", "show", test_id, "--json")

    assert shown.exit_code == 0, shown.output
    assert "Admin can log in" in shown.output and test_id in shown.output
    assert "browser, active, revision 1, tags: smoke" in shown.output
    assert "The admin logs in." in shown.output
    assert "url: '{{base_url}}/login'" in shown.output  # the spec, as a test file would say it
    assert "null" not in shown.output
    data = json.loads(as_json.output)
    assert data["id"] == test_id and data["spec"]["steps"][1]["action"] == "click"


def test_revise_adds_a_revision_and_updates_name_and_tags(
    run_cli: Invoke, login_file: Path, tmp_path: Path, app: TestClient
) -> None:
    test_id = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))
    changed = tmp_path / "v2.yaml"
    changed.write_text(
        LOGIN.replace("name: Admin can log in", "name: Admin logs in").replace("tags: [smoke]", "tags: [smoke, login]")
        + '  - {action: expect_text, text: "Welcome"}\n'
    )

    result = run_cli("tests", "revise", test_id, "-f", str(changed))

    assert result.exit_code == 0, result.output
    assert f"saved revision 2 of {test_id}  Admin logs in" in result.output
    headers = {"X-API-Key": BOOTSTRAP_KEY}
    test = app.get(f"/v1/tests/{test_id}", headers=headers).json()
    assert (test["name"], test["tags"], test["revision"]) == ("Admin logs in", ["login", "smoke"], 2)
    assert [s["action"] for s in test["spec"]["steps"]] == ["goto", "click", "expect_text"]


def test_revise_sends_only_spec_fields_and_patches_nothing_unchanged(login_file: Path) -> None:
    saved = {"id": "tst_1", "name": "Admin can log in", "kind": "browser", "tags": ["smoke"], "revision": 1}
    # the file says the same name, tags and description: only a revision, no PATCH
    saved["description"] = "The admin logs in."
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=saved)
        return httpx.Response(201, json={"test_id": "tst_1", "revision": 2})

    state = CliState(api_url="http://api.test", api_key="atk_x", transport=httpx.MockTransport(handler))
    result = CliRunner().invoke(cli, ["tests", "revise", "tst_1", "-f", str(login_file)], obj=state)

    assert result.exit_code == 0, result.output
    assert [(r.method, r.url.path) for r in seen] == [("GET", "/v1/tests/tst_1"), ("POST", "/v1/tests/tst_1/revisions")]
    assert "saved revision 2 of tst_1  Admin can log in" in result.output
    body = json.loads(seen[1].content)
    assert not {"name", "kind", "tags", "description"} & set(body)
    assert body["variables"] == {"base_url": "http://127.0.0.1:8001"} and len(body["steps"]) == 2


def test_revise_refuses_a_file_of_another_kind(run_cli: Invoke, login_file: Path, tmp_path: Path) -> None:
    test_id = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))
    api_file = tmp_path / "api.yaml"
    api_file.write_text('name: Admin can log in\nkind: api\nsteps:\n  - {action: request, url: "http://x/"}\n')

    result = run_cli("tests", "revise", test_id, "-f", str(api_file))

    assert result.exit_code == 2
    assert "is an API test but" in result.output and "a browser test" in result.output


def test_revise_refuses_an_inferred_kind_that_does_not_fit_and_a_rename_onto_another_test(
    run_cli: Invoke, login_file: Path, tmp_path: Path
) -> None:
    # Given a browser test, and another test named "Health"
    test_id = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))
    health = tmp_path / "health.yaml"
    health.write_text('name: Health\nsteps:\n  - {action: request, url: "http://127.0.0.1:9/"}\n')
    created_id(run_cli("tests", "create", "-f", str(health), "--json"))

    # When the browser test is revised with an API test file (kind inferred), or renamed onto "Health"
    api_file = tmp_path / "api.yaml"
    api_file.write_text(health.read_text().replace("name: Health", "name: Admin can log in"))
    other_kind = run_cli("tests", "revise", test_id, "-f", str(api_file))
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(login_file.read_text().replace("name: Admin can log in", "name: Health"))
    rename = run_cli("tests", "revise", test_id, "-f", str(renamed))

    # Then both are refused, saying why
    assert other_kind.exit_code == 2 and "is a browser test; this revision does not fit it" in other_kind.output
    assert rename.exit_code == 2 and "the name of tst_" in rename.output and "--allow-duplicate" in rename.output
    shown = json.loads(run_cli("tests", "show", test_id, "--json").output)
    assert shown["revision"] == 1 and shown["name"] == "Admin can log in"


def test_archive_hides_the_test_from_the_active_list(run_cli: Invoke, login_file: Path) -> None:
    test_id = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))

    archived = run_cli("tests", "archive", test_id)
    active = run_cli("tests", "list")
    listed = run_cli("tests", "list", "--archived")

    assert archived.exit_code == 0 and f"archived {test_id}  Admin can log in" in archived.output
    assert "no tests yet" in active.output
    assert test_id in listed.output


def test_an_archived_test_says_how_to_unarchive_it_and_unarchive_does(run_cli: Invoke, login_file: Path) -> None:
    # Given an archived test
    test_id = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))
    archived = run_cli("tests", "archive", test_id)

    # When it is run or revised, the error names the command that unarchives it
    refused = run_cli("run", test_id)
    not_revised = run_cli("tests", "revise", test_id, "-f", str(login_file))
    # and that command makes it active again
    unarchived = run_cli("tests", "unarchive", test_id)
    listed = run_cli("tests", "list")
    ran = run_cli("run", test_id, "--json")

    assert f"undo: autotest tests unarchive {test_id}" in archived.output
    for result in (refused, not_revised):
        assert result.exit_code == 2
        assert f"test {test_id} is archived: unarchive it to " in result.output
        assert f"`autotest tests unarchive {test_id}`" in result.output and "(HTTP 409)" in result.output
    assert unarchived.exit_code == 0, unarchived.output
    assert unarchived.output == f"unarchived {test_id}  Admin can log in\n"
    assert test_id in listed.output
    assert ran.exit_code == 0 and json.loads(ran.output)["status"] == "queued"


def test_unarchive_of_an_active_test_says_so_and_notes_a_namesake(run_cli: Invoke, login_file: Path) -> None:
    first = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))
    run_cli("tests", "archive", first)
    second = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))  # the name is free again

    again = run_cli("tests", "unarchive", second)
    back = run_cli("tests", "unarchive", first)
    as_json = run_cli("tests", "unarchive", first, "--json")

    assert again.output.startswith(f"already active: {second}  Admin can log in\n")
    assert back.exit_code == 0 and f"unarchived {first}" in back.output
    assert f"note: {second} is an active test with the same name" in back.output
    assert json.loads(as_json.output)["status"] == "active"


def test_show_of_an_unknown_test_is_one_line(run_cli: Invoke) -> None:
    result = run_cli("tests", "show", "tst_nope")

    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "(HTTP 404)" in result.output


# ------------------------------------------------------------------------------------ runs


def test_cancel_a_queued_run_then_cancel_again_prints_the_conflict(run_cli: Invoke, login_file: Path) -> None:
    started = run_cli("run", str(login_file), "--json")
    run_id = json.loads(started.output)["id"]

    first = run_cli("cancel", run_id)
    second = run_cli("cancel", run_id)

    assert first.exit_code == 0, first.output
    assert f"CANCELLED  {run_id}" in first.output
    assert second.exit_code == 2
    assert second.output == f"error: run {run_id} already ended as cancelled; there is nothing to cancel (HTTP 409)\n"


def test_cancel_a_running_run_asks_it_to_stop(run_cli: Invoke, login_file: Path, fakes: FakeServices) -> None:
    run_id = json.loads(run_cli("run", str(login_file), "--json").output)["id"]
    assert fakes.services.runs.take(RunMessage(run_id=run_id, project_id="default", attempt=1)) is not None

    result = run_cli("cancel", run_id)

    assert result.exit_code == 0, result.output
    assert "cancel requested" in result.output and "running" in result.output
    assert fakes.services.runs.get_run("default", run_id).cancel_requested
    assert fakes.services.runs.get_run("default", run_id).status == RunStatus.running


def test_a_mistyped_path_is_neither_a_file_nor_a_test_id(run_cli: Invoke) -> None:
    result = run_cli("run", "examples/tests/loginn")

    assert result.exit_code == 2
    assert result.output == "error: no such file or test id: examples/tests/loginn\n"


def test_status_of_a_test_id_points_at_its_runs(run_cli: Invoke, login_file: Path) -> None:
    test_id = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))

    result = run_cli("status", test_id)

    assert result.exit_code == 2
    assert result.output == (
        f"error: {test_id} is a test id, not a run id: its runs are in `autotest runs list --test-id {test_id}`\n"
    )
    assert run_cli("runs", "list", "--test-id", test_id).exit_code == 0  # the option the hint names exists


def test_runs_list_says_no_runs_match_when_filtered(run_cli: Invoke, login_file: Path) -> None:
    empty = run_cli("runs", "list")
    run_cli("run", str(login_file))
    filtered = run_cli("runs", "list", "--status", "failed")

    assert "no runs yet" in empty.output
    assert filtered.exit_code == 0 and filtered.output == "no runs match\n"


def test_lists_fit_80_columns_with_whole_ids(run_cli: Invoke, login_file: Path, tmp_path: Path) -> None:
    long_name = tmp_path / "long.yaml"
    long_name.write_text(LOGIN.replace("Admin can log in", "An admin with a long name logs in and sees the dashboard"))
    test_id = created_id(run_cli("tests", "create", "-f", str(long_name), "--json"))
    run_id = json.loads(run_cli("run", test_id, "--json").output)["id"]

    tests = run_cli("tests", "list", width=80).output
    runs = run_cli("runs", "list", width=80).output

    for output, object_id in ((tests, test_id), (runs, run_id)):
        assert all(len(line) <= 80 for line in output.splitlines()), output
        assert object_id in output  # on one line, whole, so it can be copied
    assert "long name" in tests and "trigger" not in runs
    assert "trigger" in run_cli("runs", "list", width=120).output


def test_timestamps_drop_the_current_year_and_seconds() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 5, 1, tzinfo=UTC)
    assert timestamp("2026-01-02T03:04:05.678Z", now=now) == "01-02 03:04"
    assert timestamp("2025-12-31T23:59:59Z", now=now) == "2025-12-31 23:59"
    assert table(["id", "name"], [["x", "y"]], wrap={"name": 1}).columns[0].no_wrap


# --------------------------------------------------------------------------- where the key came from


def unauthorized(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "invalid API key"}})


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("AUTOTEST_API_KEY", raising=False)
    monkeypatch.delenv("AUTOTEST_API_URL", raising=False)
    path = tmp_path / ".autotest" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"api_url": "http://from-file:9", "api_key": "atk_file"}))
    monkeypatch.setenv("AUTOTEST_CONFIG", str(path))
    return path


@pytest.mark.parametrize(
    ("args", "env", "source"),
    [
        (["--api-key", "wrong"], {}, "--api-key"),
        ([], {"AUTOTEST_API_KEY": "wrong"}, "AUTOTEST_API_KEY"),
        ([], {}, "FILE"),
    ],
)
def test_a_rejected_key_names_where_the_key_came_from(
    config_file: Path, args: list[str], env: dict[str, str], source: str
) -> None:
    state = CliState(transport=httpx.MockTransport(unauthorized))

    result = CliRunner(env=env).invoke(cli, [*args, "tests", "list"], obj=state)

    expected = f"{config_file} (AUTOTEST_CONFIG)" if source == "FILE" else source
    assert result.exit_code == 2
    assert result.output.startswith(
        f"error: invalid API key (HTTP 401): the key came from {expected}, the URL http://from-file:9 from "
        f"{config_file} (AUTOTEST_CONFIG); "
    )


def test_url_and_key_keep_their_own_sources(config_file: Path) -> None:
    from_file = resolve(None, None)
    mixed = resolve(None, "atk_opt", key_source="--api-key")
    neither = resolve("http://x", "k", url_source="AUTOTEST_API_URL", key_source="AUTOTEST_API_KEY")

    source = f"{config_file} (AUTOTEST_CONFIG)"
    assert (from_file.url_source, from_file.key_source) == (source, source)
    assert (mixed.api_url, mixed.url_source) == ("http://from-file:9", source)
    assert (mixed.api_key, mixed.key_source) == ("atk_opt", "--api-key")
    assert (neither.url_source, neither.key_source) == ("AUTOTEST_API_URL", "AUTOTEST_API_KEY")


def test_an_unreachable_url_names_where_the_url_came_from(config_file: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result = CliRunner().invoke(cli, ["runs", "list"], obj=CliState(transport=httpx.MockTransport(refuse)))

    assert result.output == (
        f"error: cannot reach http://from-file:9 (API URL from {config_file} (AUTOTEST_CONFIG)): "
        f"is `autotest local --data-dir {config_file.parent}` running?\n"
    )


# ------------------------------------------------------------------------------------- start-up


def test_the_cli_imports_no_local_mode_dependencies() -> None:
    """`autotest --help` and the client commands must not pay for moto, boto3, uvicorn, FastAPI, Playwright."""
    code = (
        "import sys, cli.main\n"
        "heavy = ['moto', 'boto3', 'botocore', 'uvicorn', 'fastapi', 'playwright', 'shared.models.tests']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)

    assert out.stdout.strip() == ""


def test_local_no_longer_offers_an_aws_port() -> None:
    # AWS is emulated in-process: there is no emulator port to choose (the option is accepted, ignored)
    result = CliRunner().invoke(cli, ["local", "--help"])

    assert result.exit_code == 0
    assert "--aws-port" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["status", "run_\x1b[2Jx"],
        ["status", "../tests"],
        ["tests", "show", "tst_\x1b]0;x\x07"],
        ["tests", "show", "../runs"],
        ["artifacts", "a/b"],
        ["runs", "list", "--test-id", "x?y=1"],
    ],
)
def test_an_id_that_is_not_one_is_refused_before_any_request(args: list[str]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    state = CliState(api_url="http://api.test", api_key="atk_x", transport=httpx.MockTransport(handler))
    result = CliRunner().invoke(cli, args, obj=state)

    assert result.exit_code == 2 and seen == [], result.output
    assert "is not a" in result.output and "\x1b" not in result.output and "Traceback" not in result.output


def test_a_test_file_nested_too_deep_is_one_line_not_a_traceback(run_cli: Invoke, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"name": "x", "steps": ' + "[" * 100_000 + "]" * 100_000 + "}")

    result = run_cli("tests", "create", "-f", str(deep))

    assert result.exit_code == 2 and "nests too deep" in result.output, result.output[-500:]


def test_an_id_that_would_reach_another_route_is_refused_before_any_request(
    run_cli: Invoke, login_file: Path, app: TestClient
) -> None:
    # Given a test, and a careless (or pasted-from-elsewhere) key id that climbs out of /v1/keys/
    test_id = created_id(run_cli("tests", "create", "-f", str(login_file), "--json"))
    for bad in (f"../tests/{test_id}", f"../../v1/tests/{test_id}", "key_1?x=1", "key_1#frag", ".", ".."):
        # When it is revoked, Then nothing is sent: `DELETE /v1/keys/../tests/<id>` would delete the test
        result = run_cli("keys", "revoke", bad)
        assert result.exit_code != 0, (bad, result.output)
        assert "not an id" in result.output, result.output
    assert app.get(f"/v1/tests/{test_id}", headers={"Authorization": f"Bearer {BOOTSTRAP_KEY}"}).status_code == 200
