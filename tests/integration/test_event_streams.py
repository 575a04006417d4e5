"""The caps on open event streams, over real HTTP: one project's streams beyond its cap (or its run's) are a
429 ``throttled`` with ``Retry-After``, another project's are not affected, and a stream that disconnects
frees its slot."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import uvicorn

from functions.api.app import create_app
from shared.models.runs import RunCreate
from shared.settings import Settings, get_settings
from tests.conftest import BOOTSTRAP_KEY, FakeServices, free_port

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
SPEC = {"name": "t", "steps": [{"action": "goto", "url": "http://example.test/"}]}


@pytest.fixture
def api(fakes: FakeServices) -> Iterator[str]:
    """The API (on the fakes) served by uvicorn on loopback, capped at 3 streams per project and 2 per run."""
    app = create_app(fakes.services)
    app.dependency_overrides[get_settings] = lambda: Settings(event_streams_per_project=3, event_streams_per_run=2)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _queued_run(fakes: FakeServices, project: str) -> str:
    return fakes.services.runs.start_run(project, RunCreate.model_validate({"spec": SPEC})).id


def _open(stack: ExitStack, api: str, run_id: str, key: dict[str, str]) -> httpx.Response:
    """Open a stream and read its first event (so the server holds it open), or read a refusal whole."""
    client = stack.enter_context(httpx.Client(base_url=api, timeout=10))
    response = stack.enter_context(client.stream("GET", f"/v1/runs/{run_id}/events", headers=key))
    if response.status_code == 200:
        lines = response.iter_lines()
        stack.callback(lambda: lines)  # held till then: a reader dropped half-way closes the connection
        while "event: status" not in next(lines):
            pass
    else:
        response.read()
    return response


def _error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def test_streams_beyond_the_caps_are_throttled_and_a_closed_one_frees_its_slot(api: str, fakes: FakeServices) -> None:
    # Given project B (capped at 3 streams, 2 per run) with three queued runs, and the bootstrap project A's run
    made = httpx.post(f"{api}/v1/projects", json={"name": "b"}, headers=ADMIN)
    assert made.status_code == 201, made.text
    b_project, b_key = made.json()["project"]["id"], {"Authorization": f"Bearer {made.json()['api_key']}"}
    first, second, third = (_queued_run(fakes, b_project) for _ in range(3))
    a_run = _queued_run(fakes, "default")

    with ExitStack() as streams:
        # When B opens two streams on its first run, then a third
        assert [_open(streams, api, first, b_key).status_code for _ in range(2)] == [200, 200]
        per_run = _open(streams, api, first, b_key)

        # Then the third is a 429 that says why, and when to try again
        assert per_run.status_code == 429
        assert _error(per_run)["code"] == "throttled"
        assert f"run {first} already has 2 open event streams" in _error(per_run)["message"]
        assert per_run.headers["Retry-After"] == "5"

        # When B opens one on its second run (its third stream), then one on its third run
        assert _open(streams, api, second, b_key).status_code == 200
        per_project = _open(streams, api, third, b_key)

        # Then that one is refused for the project's cap, while project A still streams its own run
        assert per_project.status_code == 429
        assert _error(per_project)["details"] == {"scope": "project", "limit": 3}
        assert _open(streams, api, a_run, ADMIN).status_code == 200

    # When B's streams disconnect, their slots are free again
    deadline = time.monotonic() + 5
    with ExitStack() as streams:
        while (status := _open(streams, api, third, b_key).status_code) == 429 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status == 200
        assert [_open(streams, api, first, b_key).status_code for _ in range(2)] == [200, 200]


def test_a_deployment_that_does_not_stream_answers_404_so_the_cli_polls(fakes: FakeServices) -> None:
    """Behind the CDK stack's HTTP API (it buffers a function's answer) streams are off: a 404 naming why, which the
    CLI takes as "poll instead" (cli/client.py run_events); an unknown run is still its own 404."""
    from fastapi.testclient import TestClient

    app = create_app(fakes.services)
    app.dependency_overrides[get_settings] = lambda: Settings(event_streams=False)
    run_id = _queued_run(fakes, "default")
    with TestClient(app) as client:
        answer = client.get(f"/v1/runs/{run_id}/events", headers=ADMIN)
        assert answer.status_code == 404
        assert answer.json()["error"]["details"] == {"reason": "event_streams_off"}
        assert "poll GET /v1/runs/{id}" in answer.json()["error"]["message"]
        unknown = client.get("/v1/runs/run_nope/events", headers=ADMIN)
        assert unknown.status_code == 404 and unknown.json()["error"].get("details") != {"reason": "event_streams_off"}
