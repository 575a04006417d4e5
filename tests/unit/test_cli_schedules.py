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


def test_update_and_names_for_ids_and_names_in_the_list(run_cli: Invoke, tmp_path: Path, fakes: FakeServices) -> None:
    test_id = make_test(run_cli, tmp_path)
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: Smoke\ntests: [{test_id}]\n")
    assert run_cli("suites", "create", "-f", str(suite)).exit_code == 0
    created = run_cli("schedules", "create", "--test", test_id, "--cron", "0 6 * * *", "--name", "Morning")
    assert created.exit_code == 0, created.output
    assert f"test Home ({test_id})" in created.output
    (stored,) = fakes.schedule_store.schedules.values()

    # update, by name: only what is given changes
    changed = run_cli("schedules", "update", "Morning", "--cron", "0 5 * * *", "--timezone", "Europe/Berlin")
    assert changed.exit_code == 0, changed.output
    assert f"updated schedule {stored.id}" in changed.output and "next: " in changed.output
    now = fakes.schedule_store.get_schedule("default", stored.id)
    assert (now.cron, now.timezone, now.name) == ("0 5 * * *", "Europe/Berlin", "Morning")
    changed = run_cli(
        "schedules", "update", stored.id, "--rate", "rate(15 minutes)", "--var", "n=3", "--label", "env=ci",
        "--name", "Quarterly", "--suite", "Smoke", "--disable",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    now = fakes.schedule_store.get_schedule("default", stored.id)
    assert (now.cron, now.rate, now.variables, now.labels, now.enabled) == (
        None, "rate(15 minutes)", {"n": 3}, {"env": "ci"}, False,
    )  # fmt: skip
    assert now.suite_id is not None and now.suite_id.startswith("ste_") and now.test_id is None
    assert "paused" in changed.output
    assert run_cli("schedules", "update", "Quarterly", "--enable").exit_code == 0
    assert fakes.schedule_store.get_schedule("default", stored.id).enabled
    nothing = run_cli("schedules", "update", "Quarterly")
    assert nothing.exit_code != 0 and "nothing to change" in nothing.output
    bad = run_cli("schedules", "update", "Quarterly", "--cron", "*/61 * * * *")
    assert bad.exit_code != 0 and "is larger than the field's range 0-59" in bad.output

    # the list names what each starts
    listed = run_cli("schedules", "list")
    assert "suite Smoke (ste_" in listed.output and "Quarterly" in listed.output

    # pause, resume, delete by name; a name nobody has is said so
    assert "paused schedule" in run_cli("schedules", "pause", "Quarterly").output
    assert not fakes.schedule_store.get_schedule("default", stored.id).enabled
    assert "resumed schedule" in run_cli("schedules", "resume", "Quarterly").output
    missing = run_cli("schedules", "pause", "Nope")
    assert missing.exit_code != 0 and "no schedule is named 'Nope'" in missing.output
    twin = run_cli("schedules", "create", "--test", test_id, "--cron", "0 7 * * *", "--name", "Quarterly")
    assert twin.exit_code == 0
    both = run_cli("schedules", "delete", "Quarterly")
    assert both.exit_code != 0 and "2 schedules are named 'Quarterly'" in both.output
    assert run_cli("schedules", "delete", stored.id).exit_code == 0
    assert run_cli("schedules", "delete", "Quarterly").exit_code == 0
    assert fakes.schedule_store.schedules == {}


def test_a_schedule_file_takes_a_suite_id_not_a_name(run_cli: Invoke, tmp_path: Path, fakes: FakeServices) -> None:
    path = tmp_path / "nightly.yaml"
    path.write_text("suite_id: Nightly\ncron: '0 2 * * *'\n")
    refused = run_cli("schedules", "create", "-f", str(path))
    assert refused.exit_code != 0
    assert "suite_id 'Nightly' is not a suite id (ste_...); pass its id, or use --suite NAME" in refused.output
    assert fakes.schedule_store.schedules == {}
