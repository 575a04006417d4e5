"""Imports end to end in local mode: the example Postman collection imported through the CLI, saved, and run as
a sequential suite against the example app (variables handed on between its folders, as Newman does), a
deliberately broken check failing; and the project's own OpenAPI document imported and its read-only smoke
tests run against the same local mode's API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from cli.local.mode import LocalInfo, LocalModeThread
from cli.main import cli
from cli.state import CliState
from examples.webapp import ADMIN_PASSWORD
from functions.api.app import create_app
from tests.e2e.conftest import local_mode_thread

pytestmark = pytest.mark.e2e
DATA = Path(__file__).resolve().parents[1] / "data" / "postman"
ENDED = ("passed", "failed", "error", "timed_out", "cancelled")


@pytest.fixture(scope="module")
def local_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalModeThread, LocalInfo]]:
    with local_mode_thread(tmp_path_factory, "imports", runner_concurrency=2) as started:
        yield started


@pytest.fixture(scope="module")
def local(local_thread: tuple[LocalModeThread, LocalInfo]) -> LocalInfo:
    return local_thread[1]


@pytest.fixture(scope="module")
def api_copy(local_thread: tuple[LocalModeThread, LocalInfo]) -> Iterator[str]:
    """Local mode's API app over local mode's own services, on a second port: the runner refuses local mode's
    API port (a test may not call autotest's own service), so the smoke tests call this one, which answers
    from the same table, project and key."""
    services = local_thread[0].mode.services
    assert services is not None
    server = uvicorn.Server(uvicorn.Config(create_app(services), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def api(info: LocalInfo, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method, f"{info.api_url}{path}", json=body, headers={"X-API-Key": info.api_key}, timeout=60
    )
    assert response.status_code < 300, response.text
    return response.json()


def wait(info: LocalInfo, path: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found: dict[str, Any] = api(info, "GET", path)
        if found["status"] in ENDED:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{path} did not end in {timeout_s} s")


def failures(run: dict[str, Any]) -> list[str]:
    steps = [f"{s.get('description')}: {s.get('error')}" for s in run.get("steps", []) if s["status"] != "passed"]
    return [*steps, str(run.get("error"))]


def test_an_imported_postman_collection_runs_green_against_the_example_app(local: LocalInfo, tmp_path: Path) -> None:
    # Given the collection imported and saved from the CLI, and the environment's secret set
    assert local.example_url
    state = CliState(api_url=local.api_url, api_key=local.api_key)
    args = ["import", "postman", str(DATA / "example-shop.postman_collection.json")]
    args += ["-e", str(DATA / "local.postman_environment.json"), "-o", str(tmp_path / "tests"), "--save"]
    result = CliRunner().invoke(cli, args, obj=state)
    assert result.exit_code == 0, result.output
    assert "test script line 8" in result.stderr  # what was not translated is shown
    ids = [line.split("saved as ")[1].split()[0] for line in result.stdout.splitlines() if "saved as" in line]
    assert len(ids) == 4
    api(local, "PUT", "/v1/secrets/password", {"value": ADMIN_PASSWORD})

    # When the four tests run in order as one scenario, as Newman runs the collection
    suite = api(local, "POST", "/v1/suites", {"name": "Example shop", "tests": ids, "mode": "sequential"})
    variables = {"baseUrl": local.example_url, "postman_guid": "0f8e2a8c-6d0c-4b7a-9a55-0c6f3b3c2d11"}
    started = api(local, "POST", f"/v1/suites/{suite['id']}/runs", {"variables": variables})
    ended = wait(local, f"/v1/suite-runs/{started['id']}")

    # Then every request passed its translated checks (the token of Auth reached Items)
    runs = [api(local, "GET", f"/v1/runs/{child['run_id']}") for child in ended["children"]]
    assert [r["status"] for r in runs] == ["passed"] * 4, [failures(r) for r in runs]
    assert sum(len(r["steps"]) for r in runs) == 12


def test_a_broken_translated_check_fails(local: LocalInfo, tmp_path: Path) -> None:
    # Given the Items test imported (without saving), then one of its checks changed
    state = CliState(api_url=local.api_url, api_key=local.api_key)
    out = tmp_path / "tests"
    args = ["import", "postman", str(DATA / "example-shop.postman_collection.json"), "-o", str(out)]
    assert CliRunner().invoke(cli, args, obj=state).exit_code == 0
    text = (out / "items.yaml").read_text()
    assert text.count("equals: Bread") == 1
    (out / "items.yaml").write_text(text.replace("equals: Bread", "equals: Pears"))
    created = CliRunner().invoke(
        cli, ["tests", "create", "-f", str(out / "items.yaml"), "--allow-duplicate", "--json"], obj=state
    )
    assert created.exit_code == 0, created.output
    test_id = created.output.split('"id": "')[1].split('"')[0]

    # When it runs (the token given, as the Auth test would hand it on)
    variables = {"baseUrl": local.example_url, "token": "tok-example-123"}
    run = api(local, "POST", "/v1/runs", {"test_id": test_id, "variables": variables})
    ended = wait(local, f"/v1/runs/{run['id']}")

    # Then it fails at that step, saying what it expected and what came back
    assert ended["status"] == "failed"
    failed = [s for s in ended["steps"] if s["status"] == "failed"]
    assert len(failed) == 1 and "Pears" in failed[0]["error"] and "Bread" in failed[0]["error"]


def test_the_projects_openapi_document_makes_smoke_tests_that_pass(local: LocalInfo, api_copy: str) -> None:
    # Given the local mode's own /openapi.json imported through the API, and the API key as the scheme's secret
    document = httpx.get(f"{local.api_url}/openapi.json", timeout=30).json()
    result = api(local, "POST", "/v1/imports/openapi", {"document": document, "base_url": api_copy})
    api(local, "PUT", "/v1/secrets/HTTPBearer", {"value": local.api_key})

    # When every read-only operation that needs no path parameter runs
    # (the GitHub integration's reads answer 404 until one is set: this project has none)
    ready = [
        t
        for t in result["tests"]
        if "read-only" in t["test"]["tags"]
        and "{" not in t["test"]["name"]
        and "/v1/integrations/github" not in t["test"]["name"]
    ]
    names = {t["test"]["name"] for t in ready}
    assert {"GET /v1/tests", "GET /v1/runs", "GET /v1/suites", "GET /v1/schedules", "GET /healthz"} <= names
    started = {t["test"]["name"]: api(local, "POST", "/v1/runs", {"test_id": t["created"]["id"]})["id"] for t in ready}
    ended = {name: wait(local, f"/v1/runs/{run_id}") for name, run_id in started.items()}

    # Then each passes its status and response-schema checks
    broken = {name: failures(run) for name, run in ended.items() if run["status"] != "passed"}
    assert broken == {}
