"""The runner's "done when", end to end on the production code path: a run created through the API
(against moto) is executed by the worker in real Chromium, ends passed or failed, its screenshots,
trace and video are in S3 and downloadable through the artifacts endpoint, and every status change
is on the EventBridge bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.testclient import TestClient

from examples.webapp import ADMIN_PASSWORD, WebApp
from functions.api.app import create_app
from runner_container.runner.worker import run_forever
from shared.aws.factory import build_services
from shared.settings import Settings
from tests.conftest import BOOTSTRAP_KEY
from tests.integration.conftest import EventTap

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}


def login_test(*, welcome: str) -> dict[str, Any]:
    return {
        "name": f"login expects {welcome!r}",
        "steps": [
            {"action": "goto", "url": "{{base_url}}/login"},
            {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
            {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
            {"action": "click", "target": {"role": "button", "name": "Log in"}},
            {"action": "expect_text", "text": welcome, "timeout_s": 2},
        ],
    }


class System:
    def __init__(self, api: TestClient, tap: EventTap, base_url: str) -> None:
        self.api, self.tap, self.base_url = api, tap, base_url

    async def run_test(self, body: dict[str, Any]) -> dict[str, Any]:
        created = self.api.post("/v1/tests", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
        started = self.api.post(
            "/v1/runs", json={"test_id": created.json()["id"], "variables": {"base_url": self.base_url}}, headers=ADMIN
        )
        assert started.status_code == 202, started.text
        for _ in range(300):
            run: dict[str, Any] = self.api.get(f"/v1/runs/{started.json()['id']}", headers=ADMIN).json()
            if run["status"] not in ("queued", "running"):
                return run
            await asyncio.sleep(0.1)
        raise AssertionError(f"run did not finish: {run}")

    def statuses(self, run_id: str) -> list[str]:
        return [e["detail"]["status"] for e in self.tap.drain() if e["detail"]["run_id"] == run_id]


@pytest_asyncio.fixture
async def system(aws_settings: Settings, webapp: WebApp) -> AsyncIterator[System]:
    settings = aws_settings.model_copy(
        update={
            "network_allowlist": "127.0.0.0/8,::1,localhost",
            "runner_concurrency": 2,
            "secrets_prefix": f"{aws_settings.table_name}/",  # the moto server is the session's
        }
    )
    services = build_services(settings)
    api = TestClient(create_app(services))
    # the project's secret, in Secrets Manager
    stored = api.put("/v1/secrets/ADMIN_PASSWORD", json={"value": ADMIN_PASSWORD}, headers=ADMIN)
    assert stored.status_code == 200, stored.text
    tap = EventTap(settings)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_forever(stop, services=services, settings=settings, wait_s=1))
    try:
        yield System(api, tap, webapp.url)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 60)


async def test_a_passing_run_through_the_api(system: System) -> None:
    run = await system.run_test(login_test(welcome="Welcome, admin"))

    assert run["status"] == "passed", run
    assert [s["status"] for s in run["steps"]] == ["passed"] * 5
    assert run["steps"][3]["locator"] and run["browser_version"]
    assert ADMIN_PASSWORD not in str(run)
    listed = system.api.get(f"/v1/runs/{run['id']}/artifacts", headers=ADMIN).json()["artifacts"]
    kinds = {a["kind"] for a in listed}
    assert {"screenshot", "video", "trace"} <= kinds, kinds
    async with httpx.AsyncClient() as http:
        for artifact in listed:
            download = await http.get(artifact["url"])
            assert download.status_code == 200 and len(download.content) == artifact["size"] > 0, artifact["name"]
        trace = next(a for a in listed if a["kind"] == "trace")
        assert (await http.get(trace["url"])).content[:2] == b"PK"  # a zip, for `playwright show-trace`
    assert system.statuses(run["id"]) == ["queued", "running", "passed"]


async def test_a_failing_run_through_the_api(system: System) -> None:
    run = await system.run_test(login_test(welcome="Welcome, nobody"))

    assert run["status"] == "failed", run
    failing = run["steps"][-1]
    assert failing["status"] == "failed" and "Welcome, nobody" in failing["error"]
    assert failing["screenshot"]
    names = [a["name"] for a in system.api.get(f"/v1/runs/{run['id']}/artifacts", headers=ADMIN).json()["artifacts"]]
    assert any("fail" in n for n in names), names
    assert system.statuses(run["id"]) == ["queued", "running", "failed"]
