"""Where the CLI finds its deployment: --api-url / --api-key on every command (before or after its name),
the environment, AUTOTEST_CONFIG, .autotest/ here or above, the last `autotest local` started; and errors
that say where each value came from and how to point the CLI elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from cli.config import forget_last_local, last_local, pointer_path, record_last_local, resolve
from cli.errors import CliError
from cli.local.command import cli_lines
from cli.main import CLIENT_COMMANDS, cli
from cli.state import CliState

EMPTY_PAGE: dict[str, object] = {"items": [], "next_cursor": None}


@dataclass
class Places:
    work: Path  # the current directory
    state: Path  # XDG_STATE_HOME

    def config(self, directory: Path, url: str, key: str) -> Path:
        path = directory / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"api_url": url, "api_key": key}))
        return path


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Places:
    for name in ("AUTOTEST_API_URL", "AUTOTEST_API_KEY", "AUTOTEST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work" / "sub"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return Places(work=work, state=tmp_path / "state")


class Recorder:
    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status == 401:
            return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "invalid API key"}})
        return httpx.Response(200, json=EMPTY_PAGE)

    @property
    def used(self) -> tuple[str, str]:
        request = self.requests[-1]
        return f"{request.url.scheme}://{request.url.host}", request.headers["authorization"].removeprefix("Bearer ")


def invoke(args: list[str], recorder: Recorder, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, args, obj=CliState(transport=httpx.MockTransport(recorder)))


# ------------------------------------------------------------------------------ precedence


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({"option", "env", "config_env", "cwd", "last"}, ("http://opt", "k-opt")),
        ({"env", "config_env", "cwd", "last"}, ("http://env", "k-env")),
        ({"config_env", "cwd", "last"}, ("http://config-env", "k-config-env")),
        ({"cwd", "last"}, ("http://cwd", "k-cwd")),
        ({"last"}, ("http://last", "k-last")),
    ],
)
def test_each_value_comes_from_the_first_place_that_has_it(
    places: Places, layers: set[str], expected: tuple[str, str]
) -> None:
    # Given every place the CLI looks in, each naming another deployment
    args: list[str] = []
    env: dict[str, str] = {}
    if "option" in layers:
        args = ["--api-url", "http://opt", "--api-key", "k-opt"]
    if "env" in layers:
        env |= {"AUTOTEST_API_URL": "http://env", "AUTOTEST_API_KEY": "k-env"}
    if "config_env" in layers:
        other = places.config(places.work.parent / "elsewhere", "http://config-env", "k-config-env")
        env["AUTOTEST_CONFIG"] = str(other)
    if "cwd" in layers:
        places.config(places.work.parent / ".autotest", "http://cwd", "k-cwd")  # a parent's .autotest/
    if "last" in layers:
        record_last_local(places.config(places.state.parent / "custom-data", "http://last", "k-last"))
    recorder = Recorder()

    result = invoke(["tests", "list", *args], recorder, env)

    assert result.exit_code == 0, result.output
    assert recorder.used == expected


def test_the_url_and_the_key_may_come_from_different_places(places: Places) -> None:
    record_last_local(places.config(places.state.parent / "custom-data", "http://last", "k-last"))
    recorder = Recorder()

    result = invoke(["runs", "list", "--api-key", "k-opt"], recorder)

    assert result.exit_code == 0, result.output
    assert recorder.used == ("http://last", "k-opt")


def test_a_local_mode_with_a_custom_data_dir_is_found_from_any_directory(places: Places, tmp_path: Path) -> None:
    # Given `autotest local --data-dir /somewhere` recorded itself as the last local mode started
    config = places.config(tmp_path / "somewhere", "http://127.0.0.1:18600", "atk_somewhere")
    record_last_local(config)

    # When the CLI resolves its deployment in a directory that knows nothing of it
    found = resolve(None, None, cwd=places.work)

    # Then it finds it, and says how
    assert (found.api_url, found.api_key) == ("http://127.0.0.1:18600", "atk_somewhere")
    assert found.key_source == f"{config} (the last `autotest local` started)"
    assert json.loads(pointer_path().read_text()) == {
        "running": [{"config": str(config.resolve()), "pid": os.getpid()}]
    }
    assert pointer_path().stat().st_mode & 0o077 == 0


def test_a_stopped_local_mode_forgets_only_its_own_pointer(places: Places, tmp_path: Path) -> None:
    first = places.config(tmp_path / "first", "http://first", "k1")
    second = places.config(tmp_path / "second", "http://second", "k2")
    record_last_local(first)
    record_last_local(second)  # another local mode started since

    forget_last_local(first)
    assert last_local() == second.resolve()

    forget_last_local(second)
    assert last_local() is None and not pointer_path().exists()


def test_stopping_the_newest_local_mode_leaves_the_one_still_running_found(places: Places, tmp_path: Path) -> None:
    # Given two local modes running (this process and a child), and one recorded whose process has ended
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    try:
        first = places.config(tmp_path / "first", "http://first", "k1")
        second = places.config(tmp_path / "second", "http://second", "k2")
        gone = places.config(tmp_path / "gone", "http://gone", "k3")
        record_last_local(first, pid=child.pid)
        record_last_local(second)
        record_last_local(gone, pid=ended.pid)  # newest, but its process is gone

        # Then the CLI finds the newest that runs; when it stops, the other one still running
        assert last_local() == second.resolve()
        forget_last_local(second)
        assert last_local() == first.resolve()
    finally:
        child.kill()
        child.wait()


def test_a_pointer_to_a_removed_data_dir_is_skipped_and_said(places: Places, tmp_path: Path) -> None:
    config = places.config(tmp_path / "removed", "http://x", "k")
    record_last_local(config)
    config.unlink()

    result = invoke(["tests", "list"], Recorder())

    assert result.exit_code == 2
    assert f"the last `autotest local` started used {config}, which is gone" in result.output


def test_autotest_config_naming_no_file_is_an_error_that_names_it(places: Places, tmp_path: Path) -> None:
    # a stale AUTOTEST_CONFIG must not fall through to some other deployment
    places.config(places.work / ".autotest", "http://cwd", "k-cwd")

    result = invoke(["tests", "list"], Recorder(), {"AUTOTEST_CONFIG": str(tmp_path / "nope.json")})

    assert result.exit_code == 2
    assert result.output.startswith(f"error: AUTOTEST_CONFIG is {tmp_path / 'nope.json'}, which is not a file")


# ------------------------------------------------------------------------------ error messages


def test_no_key_says_where_the_cli_looked_and_names_autotest_config(places: Places) -> None:
    result = invoke(["tests", "list"], Recorder())

    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith(
        "error: no API key (no config file: AUTOTEST_CONFIG is not set; no .autotest/config.json in "
    )
    assert f"no running `autotest local` recorded in {pointer_path()}" in result.output
    assert "--api-key" in result.output and "AUTOTEST_API_KEY" in result.output
    assert "export AUTOTEST_CONFIG=DATA_DIR/config.json for an `autotest local --data-dir DATA_DIR`" in result.output


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def test_the_default_url_unreachable_names_every_way_to_point_the_cli(places: Places) -> None:
    result = CliRunner().invoke(
        cli, ["runs", "list", "--api-key", "k"], obj=CliState(transport=httpx.MockTransport(refuse))
    )

    assert result.output.startswith("error: cannot reach http://127.0.0.1:8000 (the default API URL; no config file:")
    for name in ("--api-url", "AUTOTEST_API_URL", "AUTOTEST_CONFIG=DATA_DIR/config.json"):
        assert name in result.output


def test_a_config_files_url_unreachable_names_the_file_and_its_data_dir(places: Places, tmp_path: Path) -> None:
    config = places.config(tmp_path / "somewhere", "http://127.0.0.1:18600", "k")
    record_last_local(config)

    result = CliRunner().invoke(cli, ["runs", "list"], obj=CliState(transport=httpx.MockTransport(refuse)))

    assert result.output == (
        f"error: cannot reach http://127.0.0.1:18600 (API URL from {config} (the last `autotest local` started)): "
        f"is `autotest local --data-dir {config.parent}` running?\n"
    )


def test_a_rejected_key_names_where_the_key_and_the_url_came_from(places: Places) -> None:
    config = places.config(places.work / ".autotest", "http://cwd", "k-cwd")

    result = invoke(["tests", "list"], Recorder(status=401), {"AUTOTEST_API_KEY": "stale"})

    assert result.exit_code == 2
    assert result.output == (
        f"error: invalid API key (HTTP 401): the key came from AUTOTEST_API_KEY, the URL http://cwd from {config} "
        f"(found from {places.work}); give that deployment's key with --api-key or AUTOTEST_API_KEY, or "
        "export AUTOTEST_CONFIG=DATA_DIR/config.json of its `autotest local`\n"
    )


# ------------------------------------------------------------------ options after the subcommand


def leaf_commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    if isinstance(command, click.Group):
        return [leaf for name, sub in command.commands.items() for leaf in leaf_commands(sub, (*path, name))]
    return [(path, command)]


def test_every_client_command_takes_the_api_options() -> None:
    leaves = [leaf for command in CLIENT_COMMANDS for leaf in leaf_commands(command, (str(command.name),))]

    assert len(leaves) >= 11
    for path, command in leaves:
        names = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"--api-url", "--api-key"} <= names, path
    assert {p[0] for p, _ in leaves} >= {"tests", "run", "status", "artifacts", "cancel", "runs"}
    for name in ("local", "demo"):  # they start deployments, they do not talk to one
        assert "--api-key" not in {opt for param in cli.commands[name].params for opt in getattr(param, "opts", [])}


RUN = {"id": "run_1", "status": "passed", "attempt": 1, "trigger": "cli", "steps": [], "iterations": []}


def scripted(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/events"):
        body = f"event: status\ndata: {json.dumps({'run_id': 'run_1', 'status': 'passed'})}\n\n"
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
    if path.endswith("/artifacts"):
        return httpx.Response(200, json={"artifacts": []})
    if path.startswith("/v1/runs/") or (path == "/v1/runs" and request.method == "POST"):
        return httpx.Response(202 if request.method == "POST" else 200, json=RUN)
    if path.startswith("/v1/tests/"):
        test = {"id": "tst_1", "name": "t", "kind": "api", "status": "archived", "revision": 1, "tags": []}
        return httpx.Response(200, json=test)
    return httpx.Response(200, json=EMPTY_PAGE)


@pytest.mark.parametrize(
    "args",
    [
        ["tests", "list"],
        ["tests", "show", "tst_1"],
        ["tests", "archive", "tst_1"],
        ["tests", "unarchive", "tst_1"],
        ["run", "FILE", "--wait"],
        ["status", "run_1"],
        ["artifacts", "run_1"],
        ["cancel", "run_1"],
        ["runs", "list"],
    ],
)
def test_api_options_after_the_subcommand(places: Places, tmp_path: Path, args: list[str]) -> None:
    test_file = tmp_path / "t.yaml"
    test_file.write_text("name: t\nsteps:\n  - {action: request, url: 'http://127.0.0.1:1/'}\n")
    args = [str(test_file) if a == "FILE" else a for a in args]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return scripted(request)

    result = CliRunner().invoke(
        cli,
        [*args, "--api-url", "http://after:9", "--api-key", "k-after"],
        obj=CliState(transport=httpx.MockTransport(handler)),
    )

    assert result.exit_code == 0, result.output
    assert seen and all(r.url.host == "after" and r.headers["authorization"] == "Bearer k-after" for r in seen)


@pytest.mark.parametrize(
    ("args", "env", "key", "source"),
    [
        (["--api-key", "before", "tests", "list", "--api-key", "after"], {}, "after", "--api-key"),
        (["tests", "--api-key", "middle", "list"], {}, "middle", "--api-key"),
        (["tests", "list", "--api-key", "after"], {"AUTOTEST_API_KEY": "env"}, "after", "--api-key"),
        (["--api-key", "before", "tests", "list"], {"AUTOTEST_API_KEY": "env"}, "before", "--api-key"),
        (["tests", "list"], {"AUTOTEST_API_KEY": "env"}, "env", "AUTOTEST_API_KEY"),
    ],
)
def test_the_last_given_value_wins_and_keeps_its_source(
    places: Places, args: list[str], env: dict[str, str], key: str, source: str
) -> None:
    recorder = Recorder(status=401)

    result = invoke([*args, "--api-url", "http://api.test"], recorder, env)

    assert recorder.used == ("http://api.test", key)
    assert f"the key came from {source}, the URL http://api.test from --api-url;" in result.output


# ------------------------------------------------------------------------- local mode's banner


def banner_text(lines: list[str]) -> str:
    console = Console(width=300, no_color=True, record=True)
    for line in lines:
        console.print(line)
    return console.export_text()


def test_banner_prints_the_export_line_when_the_cli_would_not_find_it(places: Places, tmp_path: Path) -> None:
    config = places.config(tmp_path / "somewhere", "http://127.0.0.1:18600", "k")  # not recorded

    text = banner_text(cli_lines(config, "http://127.0.0.1:18600"))

    assert f"CLI       export AUTOTEST_CONFIG={config}\n" in text
    assert "(it finds none from here)" in text


def test_banner_says_which_other_deployment_the_cli_would_use_here(places: Places, tmp_path: Path) -> None:
    stale = places.config(places.work / ".autotest", "http://old", "k-old")
    config = places.config(tmp_path / "somewhere", "http://127.0.0.1:18600", "k")
    record_last_local(config)  # the .autotest/ here comes first

    text = banner_text(cli_lines(config, "http://127.0.0.1:18600"))

    assert f"export AUTOTEST_CONFIG={config}" in text
    assert f"from here it would read {stale} (found from {places.work})" in text


def test_banner_says_how_the_cli_finds_it(places: Places, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = places.config(places.work / ".autotest", "http://127.0.0.1:8000", "k")
    custom = places.config(tmp_path / "custom", "http://127.0.0.1:18600", "k")
    record_last_local(custom)

    here = banner_text(cli_lines(default, "http://127.0.0.1:8000"))
    monkeypatch.chdir(tmp_path)
    anywhere = banner_text(cli_lines(custom, "http://127.0.0.1:18600"))
    monkeypatch.setenv("AUTOTEST_CONFIG", str(custom))
    through_env = banner_text(cli_lines(custom, "http://127.0.0.1:18600"))

    assert "CLI       finds it from this directory and the ones below it" in here
    assert f"elsewhere: export AUTOTEST_CONFIG={default}" in here
    assert "finds it from any directory without a .autotest/ of its own" in anywhere
    assert f"elsewhere: export AUTOTEST_CONFIG={custom}" in anywhere
    assert "finds it through AUTOTEST_CONFIG" in through_env


def test_banner_warns_of_an_api_url_in_the_environment(places: Places, monkeypatch: pytest.MonkeyPatch) -> None:
    config = places.config(places.work / ".autotest", "http://127.0.0.1:8000", "k")
    monkeypatch.setenv("AUTOTEST_API_URL", "http://127.0.0.1:9999")

    text = banner_text(cli_lines(config, "http://127.0.0.1:8000"))

    assert "AUTOTEST_API_URL=http://127.0.0.1:9999 is set: the CLI goes there instead" in text


def test_resolve_raises_a_cli_error_for_an_unreadable_config(places: Places) -> None:
    (places.work / ".autotest").mkdir()
    (places.work / ".autotest" / "config.json").write_text("{not json")

    with pytest.raises(CliError, match=r"cannot read .*config\.json \(found from "):
        resolve(None, None)


def test_a_pointer_that_cannot_be_written_is_a_warning_and_the_banner_says_what_to_export(
    places: Places, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.local.command import _record

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))  # the state directory cannot be made
    config = places.config(tmp_path / "somewhere", "http://127.0.0.1:18600", "k")

    warnings = _record(config)
    text = banner_text(cli_lines(config, "http://127.0.0.1:18600"))

    assert len(warnings) == 1 and warnings[0].startswith("could not record this local mode for the CLI: ")
    assert f"CLI       export AUTOTEST_CONFIG={config}" in text
