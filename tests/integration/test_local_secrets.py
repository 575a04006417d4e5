"""Secrets in ``autotest local`` (in-process, with its runner worker; API runs only, so no browser): the
environment's secrets (``AUTOTEST_SECRET_<NAME>``, ``secrets.env``) are the bootstrap project's alone, a
secret the project stores wins over them, and stored secrets survive a restart."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.local.mode import LocalModeError, LocalModeThread, LocalOptions
from cli.local.workers import runner_worker
from shared.settings import Settings
from tests.http_recorder import Recorder, recording_server

ENV_VALUE = "env-demo-password-71be"


@pytest.fixture
def server() -> Iterator[Recorder]:
    with recording_server() as recorder:
        yield recorder


class Local:
    def __init__(self, data_dir: Path, settings: Settings) -> None:
        self.thread = LocalModeThread(
            LocalOptions(
                port=0,
                example_port=None,
                data_dir=data_dir,
                workers={"runner": runner_worker},
                snapshot_interval_s=1,
                base_settings=settings,
            )
        )
        self.info = self.thread.start()
        self.admin = {"Authorization": f"Bearer {self.info.api_key}"}
        self.http = httpx.Client(base_url=self.info.api_url, timeout=10)

    def stop(self) -> None:
        self.http.close()
        self.thread.stop()

    def run(self, key: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
        started = self.http.post("/v1/runs", json={"spec": spec}, headers=key)
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.http.get(f"/v1/runs/{started.json()['id']}", headers=key).json()
            if run["status"] not in ("queued", "running"):
                return run
            time.sleep(0.1)
        raise AssertionError(f"the run did not end: {run}")


@pytest.fixture
def start_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AUTOTEST_API_KEY", raising=False)
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f"ADMIN_PASSWORD={ENV_VALUE}\n")
    started: list[Local] = []
    suffix = uuid.uuid4().hex[:8]

    def start(**extra: Any) -> Local:
        settings = Settings(
            table_name=f"local-{suffix}",
            run_queue_name=f"local-runs-{suffix}",
            run_dlq_name=f"local-dlq-{suffix}",
            artifact_bucket=f"local-artifacts-{suffix}",
            event_bus_name=f"local-bus-{suffix}",
            secrets_file=secrets_file,
            record_video=False,
            record_trace=False,
            **extra,
        )
        local = Local(tmp_path / "data", settings)
        started.append(local)
        return local

    yield start
    for local in started:
        local.stop()


def spec(server: Recorder) -> dict[str, Any]:
    header = {"X-Password": "{{secret:ADMIN_PASSWORD}}"}
    return {
        "name": "uses ADMIN_PASSWORD",
        "kind": "api",
        "steps": [{"action": "request", "url": server.url, "headers": header}],
    }


def test_the_environments_secrets_are_the_bootstrap_projects_only(start_local: Any, server: Recorder) -> None:
    # Given local mode with ADMIN_PASSWORD in its secrets file, and a second project
    local = start_local()
    made = local.http.post("/v1/projects", json={"name": "team b"}, headers=local.admin)
    assert made.status_code == 201, made.text
    key_b = {"X-API-Key": made.json()["api_key"]}

    # When the second project runs a test that references {{secret:ADMIN_PASSWORD}}
    run_b = local.run(key_b, spec(server))

    # Then its run ends in error and its server never received the bootstrap project's value
    assert run_b["status"] == "error", run_b
    assert "secret not defined" in run_b["error"] and "ADMIN_PASSWORD" in run_b["error"]
    assert not server.received(ENV_VALUE) and server.requests == []

    # While the bootstrap project (local mode's own key) still has the convenience
    run_a = local.run(local.admin, spec(server))
    assert run_a["status"] == "passed", run_a
    assert server.received(ENV_VALUE)


def test_a_stored_secret_wins_over_the_environment_and_survives_a_restart(
    start_local: Any, server: Recorder, tmp_path: Path
) -> None:
    # Given the bootstrap project stores its own ADMIN_PASSWORD
    local = start_local()
    stored = local.http.put("/v1/secrets/ADMIN_PASSWORD", json={"value": "stored-value-5d2a"}, headers=local.admin)
    assert stored.status_code == 200, stored.text
    listed = local.http.get("/v1/secrets", headers=local.admin).json()["items"]
    assert [(s["name"], s["source"]) for s in listed] == [("ADMIN_PASSWORD", "project")]

    # When local mode restarts and the project runs the test
    local.stop()
    again = start_local()
    run = again.run(again.admin, spec(server))

    # Then the stored value was sent, not the environment's, and it is nowhere readable in the data directory
    assert run["status"] == "passed", run
    assert server.received("stored-value-5d2a") and not server.received(ENV_VALUE)
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert b"stored-value-5d2a" not in path.read_bytes(), path


def test_local_mode_does_not_start_without_its_secret_stores_key(start_local: Any, tmp_path: Path) -> None:
    # Given local mode with a stored secret, whose key then goes missing (another machine, a lost home)
    key = tmp_path / "own-key"
    local = start_local(secrets_key_file=key)
    assert local.http.put("/v1/secrets/TOKEN", json={"value": "v-1"}, headers=local.admin).status_code == 200
    local.stop()
    key.rename(tmp_path / "moved-key")

    # When it starts again, it says what is missing and where it looked, and changes nothing
    with pytest.raises(LocalModeError, match=f"needs its key, which is not at {key}"):
        start_local(secrets_key_file=key)
    assert not key.exists()
