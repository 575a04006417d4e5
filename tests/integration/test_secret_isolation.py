"""A secret is used by its own project's runs only: the API stores it in local mode's encrypted store, the
runner resolves ``{{secret:NAME}}`` with the run's project, and a run of another project that references
the same name ends ``error`` without sending anything to its server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.local.secret_store import EncryptedFileSecretStore
from functions.api.app import create_app
from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import RunExecutor
from shared.services.secrets import Secrets
from tests.conftest import BOOTSTRAP_KEY, FakeServices
from tests.http_recorder import Recorder, recording_server

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
A_VALUE = "a-only-9f3c1d"


class System:
    def __init__(self, fakes: FakeServices, tmp_path: Path) -> None:
        store = EncryptedFileSecretStore(tmp_path / "secrets", key_file=tmp_path / "key")
        self.services = dataclasses.replace(fakes.services, secrets=Secrets(store))
        self.queue = fakes.queue
        self.api = TestClient(create_app(self.services))
        self.executor = RunExecutor(
            runs=self.services.runs,
            artifacts=self.services.artifacts,
            secrets=self.services.secrets,
            pool=BrowserPool(),  # API runs never launch it
            config=RunnerConfig(network_allowlist="127.0.0.0/8", retry_delay_s=0, upload_backoff_s=0.01),
        )

    def project(self, name: str) -> dict[str, str]:
        made = self.api.post("/v1/projects", json={"name": name}, headers=ADMIN)
        assert made.status_code == 201, made.text
        return {"X-API-Key": made.json()["api_key"]}

    async def run(self, key: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
        started = self.api.post("/v1/runs", json={"spec": spec}, headers=key)
        assert started.status_code == 202, started.text
        message, _ = self.queue.sent.pop()
        await self.executor.execute(message)
        run: dict[str, Any] = self.api.get(f"/v1/runs/{started.json()['id']}", headers=key).json()
        return run


@pytest.fixture
def system(fakes: FakeServices, tmp_path: Path) -> System:
    return System(fakes, tmp_path)


@pytest.fixture
def server() -> Iterator[Recorder]:
    with recording_server() as recorder:
        yield recorder


def spec_sending_the_password(server: Recorder) -> dict[str, Any]:
    return {
        "name": "sends the admin password",
        "kind": "api",
        "steps": [
            {"action": "request", "url": f"{server.url}/login", "headers": {"X-Password": "{{secret:ADMIN_PASSWORD}}"}},
            {
                "action": "request",
                "method": "POST",
                "url": f"{server.url}/echo",
                "json": {"pw": "{{secret:ADMIN_PASSWORD}}"},
            },
        ],
    }


async def test_a_projects_secret_is_used_by_its_own_runs_only(system: System, server: Recorder) -> None:
    # Given project A that stored ADMIN_PASSWORD, and project B that did not
    key_a, key_b = system.project("team a"), system.project("team b")
    stored = system.api.put("/v1/secrets/ADMIN_PASSWORD", json={"value": A_VALUE}, headers=key_a)
    assert stored.status_code == 200, stored.text

    # When B runs a test that references {{secret:ADMIN_PASSWORD}}
    run_b = await system.run(key_b, spec_sending_the_password(server))

    # Then B's run ends in error before any step, and B's server received nothing (least of all A's value)
    assert run_b["status"] == "error", run_b
    assert "secret not defined in project" in run_b["error"] and "ADMIN_PASSWORD" in run_b["error"]
    assert "autotest secrets set ADMIN_PASSWORD" in run_b["error"]
    assert [s["status"] for s in run_b["steps"]] == ["skipped", "skipped"]
    assert server.requests == []
    assert A_VALUE not in str(run_b)

    # When A runs the same test
    run_a = await system.run(key_a, spec_sending_the_password(server))

    # Then A's run uses A's secret, masked in its results
    assert run_a["status"] == "passed", run_a
    assert len(server.requests) == 2 and all(A_VALUE.encode() in raw for raw in server.requests)
    assert A_VALUE not in str(run_a)


async def test_a_secret_of_the_same_name_in_another_project_is_that_projects_own(
    system: System, server: Recorder
) -> None:
    # Given A and B, each with its own ADMIN_PASSWORD (B's PUT cannot overwrite A's)
    key_a, key_b = system.project("team a"), system.project("team b")
    system.api.put("/v1/secrets/ADMIN_PASSWORD", json={"value": A_VALUE}, headers=key_a)
    system.api.put("/v1/secrets/ADMIN_PASSWORD", json={"value": "b-own-value"}, headers=key_b)

    # When both run the same test
    run_b = await system.run(key_b, spec_sending_the_password(server))
    b_requests = list(server.requests)
    run_a = await system.run(key_a, spec_sending_the_password(server))

    # Then each sent its own value only
    assert run_b["status"] == run_a["status"] == "passed"
    assert all(b"b-own-value" in raw and A_VALUE.encode() not in raw for raw in b_requests)
    assert all(A_VALUE.encode() in raw for raw in server.requests[len(b_requests) :])

    # And once B deletes its own, B's runs fail again while A's still work
    assert system.api.delete("/v1/secrets/ADMIN_PASSWORD", headers=key_b).status_code == 204
    assert (await system.run(key_b, spec_sending_the_password(server)))["status"] == "error"
    assert (await system.run(key_a, spec_sending_the_password(server)))["status"] == "passed"
