"""Control and bidi characters: the API refuses them in names, tags and labels (422 naming the field and the
code point), and the CLI prints nothing raw that a server sent, whatever it sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from shared.controlchars import CONTROL_CHARS, escape_controls
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
#: (the character, its code point as the API names it)
HOSTILE = [
    ("\x1b", "U+001B"),
    ("\x00", "U+0000"),
    ("\r", "U+000D"),
    ("\n", "U+000A"),
    ("\t", "U+0009"),
    ("\x7f", "U+007F"),
    ("\x85", "U+0085"),
    ("\u202e", "U+202E"),
    ("\u2066", "U+2066"),
    ("\u200f", "U+200F"),
    ("\u2028", "U+2028"),
    # invisible: two names that look alike, or a name that looks empty
    ("\u200b", "U+200B"),
    ("\ufeff", "U+FEFF"),
    ("\u00ad", "U+00AD"),
    ("\u2060", "U+2060"),
    ("\u3164", "U+3164"),
    ("\U000e0041", "U+E0041"),
]
GOTO = [{"action": "goto", "url": "http://127.0.0.1/"}]


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(FakeServices().services))


def _refused(response: httpx.Response, loc: str, code_point: str) -> None:
    assert response.status_code == 422, response.text
    details = {d["loc"]: d["msg"] for d in response.json()["error"]["details"]}
    assert loc in details, details
    assert code_point in details[loc] and "at character 3" in details[loc], details[loc]


@pytest.mark.parametrize(("char", "code_point"), HOSTILE)
def test_names_and_tags_of_tests_refuse_control_and_bidi_characters(
    client: TestClient, char: str, code_point: str
) -> None:
    bad = f"ab{char}cd"
    _refused(client.post("/v1/tests", json={"name": bad, "steps": GOTO}, headers=ADMIN), "body.name", code_point)
    _refused(
        client.post("/v1/tests", json={"name": "t", "tags": ["ok", bad], "steps": GOTO}, headers=ADMIN),
        "body.tags[1]",
        code_point,
    )
    test_id = client.post("/v1/tests", json={"name": "fine", "steps": GOTO}, headers=ADMIN).json()["id"]
    _refused(client.patch(f"/v1/tests/{test_id}", json={"name": bad}, headers=ADMIN), "body.name", code_point)


@pytest.mark.parametrize(("char", "code_point"), HOSTILE)
def test_run_labels_inline_names_projects_and_keys_refuse_them_too(
    client: TestClient, char: str, code_point: str
) -> None:
    bad = f"ab{char}cd"
    inline = {"spec": {"name": bad, "steps": GOTO}}
    _refused(client.post("/v1/runs", json=inline, headers=ADMIN), "body.spec.name", code_point)
    labelled = {"spec": {"steps": GOTO}, "labels": {"file": bad}}
    _refused(client.post("/v1/runs", json=labelled, headers=ADMIN), "body.labels.file", code_point)
    keyed = {"spec": {"steps": GOTO}, "labels": {bad: "x"}}
    response = client.post("/v1/runs", json=keyed, headers=ADMIN)
    assert response.status_code == 422 and code_point in response.text
    assert not CONTROL_CHARS.search(response.json()["error"]["message"])  # the key is shown escaped
    _refused(client.post("/v1/projects", json={"name": bad}, headers=ADMIN), "body.name", code_point)
    _refused(client.post("/v1/keys", json={"name": bad}, headers=ADMIN), "body.name", code_point)


@pytest.mark.parametrize(("char", "code_point"), [h for h in HOSTILE if h[0] not in "\t\n\r"])
def test_descriptions_and_goals_keep_tabs_and_line_breaks_but_refuse_other_controls(
    client: TestClient, char: str, code_point: str
) -> None:
    bad = f"ab{char}cd"
    _refused(
        client.post("/v1/tests", json={"name": "t", "description": bad, "steps": GOTO}, headers=ADMIN),
        "body.description",
        code_point,
    )
    steps = [{**GOTO[0], "description": bad}]
    _refused(
        client.post("/v1/tests", json={"name": "t", "steps": steps}, headers=ADMIN),
        "body.steps[0].description",
        code_point,
    )
    _refused(client.post("/v1/tests", json={"name": "t", "goal": bad}, headers=ADMIN), "body.goal", code_point)


def test_free_text_may_hold_tabs_and_line_breaks(client: TestClient) -> None:
    text = "first line\n\tsecond line\r\nthird"
    body = {"name": "t", "description": text, "steps": [{**GOTO[0], "description": text}]}
    created = client.post("/v1/tests", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["description"] == text


# ------------------------------------------------------------------------------------------- the CLI

#: what a hostile (or broken) server might send back in every text field
EVIL = "evil\x1b[2J\x1b]0;pwned\x07\x00\r\n\u202egnp.exe\x85\x7f\u2028\u2066[red]x[/red]"
SHOWN = escape_controls(EVIL)


def _run(run_id: str, status: str) -> dict[str, Any]:
    step = {
        "index": 0,
        "action": "goto" + EVIL,
        "description": None,
        "target": EVIL,
        "detail": EVIL,
        "status": "failed",
        "duration_ms": 5,
        "error": EVIL,
    }
    return {
        "id": run_id,
        "test_id": "tst_1",
        "name": EVIL,
        "kind": "browser",
        "status": status,
        "attempt": 1,
        "max_attempts": 2,
        "trigger": "cli" + EVIL,
        "labels": {"file": EVIL},
        "created_at": "2026-01-01T00:00:00Z" + EVIL,
        "duration_ms": 12,
        "steps": [step] if status != "queued" else [],
        "iterations": [],
        "error": EVIL if status != "queued" else None,
    }


def _test() -> dict[str, Any]:
    return {
        "id": "tst_1",
        "name": EVIL,
        "kind": "browser",
        "tags": [EVIL],
        "description": EVIL,
        "status": "active",
        "revision": 1,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z" + EVIL,
        "spec": {"steps": [{"action": "goto", "url": "http://x/" + EVIL, "description": EVIL}]},
    }


def hostile_api(request: httpx.Request) -> httpx.Response:
    path, method = request.url.path, request.method
    if path == "/v1/tests" and method == "GET":
        return httpx.Response(200, json={"items": [_test()], "next_cursor": None})
    if path == "/v1/tests" and method == "POST":
        return httpx.Response(201, json=_test())
    if path == "/v1/tests/tst_1" and method == "GET":
        return httpx.Response(200, json=_test())
    if path == "/v1/tests/tst_1" and method == "DELETE":
        return httpx.Response(200, json={**_test(), "status": "archived"})
    if path == "/v1/runs" and method == "POST":
        return httpx.Response(202, json=_run("run_1", "queued"))
    if path == "/v1/runs" and method == "GET":
        return httpx.Response(200, json={"items": [_run("run_1", "failed")], "next_cursor": None})
    if path == "/v1/runs/run_1/events":
        events = [("status", {"status": "running" + EVIL, "attempt": 1})]
        events += [("step", {"attempt": 1, "step": _run("run_1", "failed")["steps"][0]})]
        events += [("status", {"status": "failed", "attempt": 1})]
        body = "".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n" for kind, data in events)
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
    if path == "/v1/runs/run_1":
        return httpx.Response(200, json=_run("run_1", "failed"))
    if path == "/v1/runs/run_1/cancel":
        return httpx.Response(202, json=_run("run_1", "running" + EVIL))
    if path == "/v1/runs/run_1/artifacts":
        artifact = {"name": "report.html" + EVIL, "kind": "report", "url": "http://s3.local/r" + EVIL}
        shot = {"name": "shot.png" + EVIL, "kind": "screenshot", "url": "http://s3.local/s" + EVIL}
        return httpx.Response(200, json={"artifacts": [artifact, shot]})
    return httpx.Response(400, json={"error": {"code": "bad" + EVIL, "message": EVIL}})


Invoke = Callable[..., Result]


def invoke(*args: str) -> Result:
    state = CliState(api_url="http://api.test", api_key="atk_test", transport=httpx.MockTransport(hostile_api))
    state.console.width = 300
    return CliRunner().invoke(cli, list(args), obj=state)


@pytest.fixture
def test_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text("name: fine\nsteps:\n  - {action: goto, url: 'http://127.0.0.1/'}\n")
    return path


def _assert_nothing_raw(result: Result) -> None:
    output = result.output
    raw = sorted({f"U+{ord(m.group()):04X}" for m in CONTROL_CHARS.finditer(output) if m.group() != "\n"})
    assert raw == [], f"raw control characters {raw} in:\n{output!r}"
    assert "\\x1b[2J" in output, output  # shown, escaped


@pytest.mark.parametrize(
    "args",
    [
        ["tests", "list"],
        ["tests", "show", "tst_1"],
        ["tests", "archive", "tst_1"],
        ["runs", "list"],
        ["status", "run_1"],
        ["cancel", "run_1"],
        ["artifacts", "run_1"],
        ["tests", "show", "tst_unknown"],  # an error line
    ],
)
def test_cli_commands_print_no_raw_control_character_the_server_sent(args: list[str]) -> None:
    result = invoke(*args)
    _assert_nothing_raw(result)


def test_run_progress_and_results_print_no_raw_control_character(test_file: Path) -> None:
    started = invoke("run", str(test_file))
    _assert_nothing_raw(started)
    waited = invoke("run", str(test_file), str(test_file), "--wait")  # two runs: progress lines are labelled
    assert waited.exit_code == 1
    _assert_nothing_raw(waited)
    assert "[red]x[/red]" in waited.output  # markup from the server is shown, not applied


def test_tests_create_prints_no_raw_control_character(test_file: Path) -> None:
    result = invoke("tests", "create", "-f", str(test_file), "--allow-duplicate")
    _assert_nothing_raw(result)


def test_json_output_escapes_them_and_stays_the_same_json() -> None:
    for args, name_of in (
        (["tests", "list", "--json"], lambda data: data["items"][0]["name"]),
        (["status", "run_1", "--json"], lambda data: data["name"]),
    ):
        result = invoke(*args)
        assert not CONTROL_CHARS.search(result.output.replace("\n", "")), result.output
        assert name_of(json.loads(result.output)) == EVIL


def test_an_emoji_sequence_joined_by_zwj_is_a_name_but_a_lone_zwj_is_not(client: TestClient) -> None:
    ok = client.post("/v1/tests", json={"name": "Dev \U0001f468\u200d\U0001f4bb check", "steps": GOTO}, headers=ADMIN)
    assert ok.status_code == 201, ok.text
    _refused(client.post("/v1/tests", json={"name": "ab\u200dcd", "steps": GOTO}, headers=ADMIN), "body.name", "U+200D")


@pytest.mark.parametrize(
    "name",
    ["Log\u034fin", "ok\ufe0fx", "\u2800", "a\ufffcb", "x\U000e0041y", "ok\u2065x", "ok\u17b4x", "ok\u180bx"],
)
def test_names_refuse_every_character_that_draws_nothing(client: TestClient, name: str) -> None:
    response = client.post("/v1/tests", json={"name": name, "steps": GOTO}, headers=ADMIN)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "name", ["Ship it \u2714\ufe0f", "Flag \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"]
)
def test_emoji_sequences_are_names(client: TestClient, name: str) -> None:
    response = client.post("/v1/tests", json={"name": name, "steps": GOTO}, headers=ADMIN)
    assert response.status_code == 201, response.text
    assert escape_controls(name) == name  # and the CLI shows them as they are
