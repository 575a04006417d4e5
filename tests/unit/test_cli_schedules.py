"""``autotest schedules ...`` against the real API app over in-memory services, and local mode's scheduler loop
(ticking on its own, surviving a failing tick)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.local.scheduler import SchedulerLoop
from cli.local.workers import WORKERS, LocalContext
from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from shared.services.schedules import Firing
from shared.settings import Settings
from tests.conftest import BOOTSTRAP_KEY, FakeServices

Invoke = Callable[..., Result]


@pytest.fixture
def run_cli(fakes: FakeServices) -> Invoke:
    app = TestClient(create_app(fakes.services))

    def invoke(*args: str) -> Result:
        state = CliState(api_url="http://testserver", api_key=BOOTSTRAP_KEY, transport=app._transport)
        state.console.width = 200
        return CliRunner().invoke(cli, list(args), obj=state)

    return invoke


def make_test(run_cli: Invoke, tmp_path: Path) -> str:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"name": "Home", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}))
    created = run_cli("tests", "create", "-f", str(path), "--json")
    assert created.exit_code == 0, created.output
    return str(json.loads(created.output)["id"])


def test_create_list_pause_resume_delete(run_cli: Invoke, tmp_path: Path, fakes: FakeServices) -> None:
    test_id = make_test(run_cli, tmp_path)
    created = run_cli(
        "schedules", "create", "--test", test_id, "--rate", "rate(1 minute)", "--var", "n=2", "--label", "env=ci"
    )
    assert created.exit_code == 0, created.output
    assert "created schedule sch_" in created.output and "next: " in created.output
    (stored,) = fakes.schedule_store.schedules.values()
    assert stored.variables == {"n": 2} and stored.labels == {"env": "ci"}

    listed = run_cli("schedules", "list")
    assert stored.id in listed.output and "rate(1 minute)" in listed.output and "UTC" in listed.output
    assert "paused" in run_cli("schedules", "pause", stored.id).output
    assert fakes.schedule_store.get_schedule("default", stored.id).enabled is False
    assert "resumed" in run_cli("schedules", "resume", stored.id).output
    assert run_cli("schedules", "delete", stored.id).exit_code == 0
    assert fakes.schedule_store.schedules == {}


def test_a_file_and_the_checks_before_sending(run_cli: Invoke, tmp_path: Path, fakes: FakeServices) -> None:
    test_id = make_test(run_cli, tmp_path)
    path = tmp_path / "nightly.yaml"
    path.write_text(f"test_id: {test_id}\ncron: '0 6 * * MON-FRI'\ntimezone: Europe/Berlin\n")
    assert run_cli("schedules", "create", "-f", str(path)).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"test_id: {test_id}\ncron: '61 * * * *'\n")
    refused = run_cli("schedules", "create", "-f", str(bad))
    assert refused.exit_code != 0
    assert "cron: '61 * * * *' is not a valid cron expression: minute 61 is out of range 0-59" in refused.output
    assert "give one of --cron" in run_cli("schedules", "create", "--test", test_id).output
    assert len(fakes.schedule_store.schedules) == 1


class FlakySchedules:
    """A schedule service whose first tick fails."""

    def __init__(self) -> None:
        self.ticks = 0

    def tick(self) -> list[Firing]:
        self.ticks += 1
        if self.ticks == 1:
            raise RuntimeError("boom")
        return []


def test_the_loop_ticks_until_stopped_and_outlives_a_failing_tick(fakes: FakeServices) -> None:
    assert "scheduler" in WORKERS
    flaky: Any = FlakySchedules()
    services = replace(fakes.services, schedules=flaky)
    loop = SchedulerLoop(LocalContext(settings=Settings(), services=services, data_dir=Path(".")), tick_s=0.01)

    async def run_a_while() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop))
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(task, 2)

    asyncio.run(run_a_while())
    assert flaky.ticks >= 3


def test_a_suite_is_scheduled_by_its_name(run_cli: Invoke, tmp_path: Path, fakes: FakeServices) -> None:
    test_id = make_test(run_cli, tmp_path)
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: Nightly\ntests: [{test_id}]\n")
    assert run_cli("suites", "create", "-f", str(suite)).exit_code == 0
    created = run_cli("schedules", "create", "--suite", "nightly", "--cron", "0 2 * * *", "--timezone", "Europe/Berlin")
    assert created.exit_code == 0, created.output
    (stored,) = fakes.schedule_store.schedules.values()
    assert stored.suite_id is not None and stored.suite_id.startswith("ste_")
    missing = run_cli("schedules", "create", "--suite", "Weekly", "--rate", "rate(1 hour)")
    assert missing.exit_code != 0 and "no suite is named 'Weekly'" in missing.output
