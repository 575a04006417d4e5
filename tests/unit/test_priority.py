"""Run priority over the in-memory services: the default of each source (a plain API call and a schedule
``normal``, the CLI ``high``), a bad value refused early naming the field, a suite run's priority handed to its
children, every message of a run (retries included) carrying it, and the queue wait recorded when a runner takes
the run and shown by the API, the CLI and the dashboard."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from shared.models.runs import RunCreate, RunStatus
from shared.models.schedules import ScheduleCreate, ScheduleUpdate
from shared.models.suites import SuiteCreate, SuiteRunCreate
from shared.models.tests import TestCreate
from shared.services.runs import RunService
from shared.services.schedules import ScheduleService
from shared.services.suites import SuiteService
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
PROJECT = "prj_priority"
STEPS = [{"action": "goto", "url": "http://127.0.0.1:9/"}]
START = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, ui_session_key=b"u" * 32), base_url="http://127.0.0.1")


def run_cli(client: TestClient, *args: str) -> Result:
    state = CliState(api_url="http://127.0.0.1", api_key=BOOTSTRAP_KEY, transport=client._transport)
    state.console.width = 200
    return CliRunner().invoke(cli, list(args), obj=state)


def saved_test(client: TestClient, name: str = "Home") -> str:
    response = client.post("/v1/tests", json={"name": name, "steps": STEPS}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def sent_priorities(fakes: FakeServices) -> dict[str, str]:
    return {message.run_id: message.priority for message, _ in fakes.queue.sent}


# ------------------------------------------------------------------------------------------ defaults per source


def test_a_plain_api_call_is_normal_and_may_say_otherwise(client: TestClient, fakes: FakeServices) -> None:
    test_id = saved_test(client)
    plain = client.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN).json()
    low = client.post("/v1/runs", json={"test_id": test_id, "priority": "low"}, headers=ADMIN).json()
    assert (plain["priority"], low["priority"]) == ("normal", "low")
    assert client.get(f"/v1/runs/{low['id']}", headers=ADMIN).json()["priority"] == "low"
    assert sent_priorities(fakes) == {plain["id"]: "normal", low["id"]: "low"}  # each to its priority's queue


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/runs", {"priority": "urgent"}),
        ("/v1/suites/{suite}/runs", {"priority": "HIGH"}),
        ("/v1/schedules", {"priority": None, "rate": "rate(1 hour)"}),
    ],
)
def test_a_bad_priority_is_a_422_naming_the_field(client: TestClient, path: str, body: dict[str, Any]) -> None:
    test_id = saved_test(client)
    suite = client.post("/v1/suites", json={"name": "Smoke", "tests": [test_id]}, headers=ADMIN).json()["id"]
    target = {"suite_id": suite} if "schedules" in path else {"test_id": test_id} if path == "/v1/runs" else {}
    response = client.post(path.format(suite=suite), json={**target, **body}, headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert "body.priority" in [d["loc"] for d in error["details"]] and "body.priority" in error["message"]
    assert "'high', 'normal' or 'low'" in error["message"] or "normal" in error["message"]


def test_the_cli_sends_high_unless_told_otherwise(client: TestClient, fakes: FakeServices, tmp_path: Path) -> None:
    test_id = saved_test(client)
    file = tmp_path / "home.json"
    file.write_text(json.dumps({"name": "Inline home", "steps": STEPS}))
    first = run_cli(client, "run", test_id, str(file), "--json")
    low = run_cli(client, "run", test_id, "--priority", "low", "--json")
    assert first.exit_code == 0 and low.exit_code == 0, first.output + low.output
    started = json.loads(first.output)
    assert [r["priority"] for r in started] == ["high", "high"]
    assert [r["trigger"] for r in started] == ["cli", "cli"]
    assert json.loads(low.output)["priority"] == "low"
    refused = run_cli(client, "run", test_id, "--priority", "urgent")
    assert refused.exit_code != 0 and "urgent" in refused.output


def test_a_suite_run_hands_its_priority_to_every_child(client: TestClient, fakes: FakeServices) -> None:
    tests = [saved_test(client, f"t{i}") for i in range(3)]
    suite = client.post("/v1/suites", json={"name": "Nightly", "tests": tests}, headers=ADMIN).json()
    # from the API: normal unless said
    plain = client.post(f"/v1/suites/{suite['id']}/runs", json={}, headers=ADMIN).json()
    low = client.post(f"/v1/suites/{suite['id']}/runs", json={"priority": "low"}, headers=ADMIN).json()
    # from the CLI: high
    cli_run = run_cli(client, "suites", "run", "Nightly", "--json")
    assert cli_run.exit_code == 0, cli_run.output
    high = json.loads(cli_run.output)
    for suite_run, priority in ((plain, "normal"), (low, "low"), (high, "high")):
        assert suite_run["priority"] == priority
        children = [r for r in fakes.store.runs.values() if r.suite_run_id == suite_run["id"]]
        assert len(children) == 3 and {r.priority for r in children} == {priority}
        sent = sent_priorities(fakes)
        assert {sent[r.id] for r in children} == {priority}  # to the queue of that priority


def test_a_schedule_starts_its_runs_at_its_priority_normal_by_default(fakes: FakeServices) -> None:
    clock = Clock()
    assert fakes.services.suites is not None
    schedules = ScheduleService(
        schedules=fakes.schedule_store,
        scheduler=fakes.scheduler,
        tests=fakes.store,
        runs=fakes.services.runs,
        suites=fakes.services.suites,
        clock=clock,
    )
    test = fakes.services.catalog.create_test(PROJECT, TestCreate.model_validate({"name": "x", "steps": STEPS}))[0]
    suite = fakes.services.suites.create(PROJECT, SuiteCreate(name="Nightly", tests=[test.id]))
    plain = schedules.create(PROJECT, ScheduleCreate.model_validate({"test_id": test.id, "rate": "rate(1 minute)"}))
    low = schedules.create(
        PROJECT, ScheduleCreate.model_validate({"suite_id": suite.id, "rate": "rate(1 minute)", "priority": "low"})
    )
    assert (plain.priority, low.priority) == ("normal", "low")

    clock.now = START + timedelta(minutes=1)
    fired = schedules.tick()

    assert len(fired) == 2
    by_schedule = {r.schedule_id: r for r in fakes.store.runs.values()}
    assert by_schedule[plain.id].priority == "normal" and by_schedule[plain.id].trigger == "schedule"
    assert by_schedule[low.id].priority == "low" and by_schedule[low.id].suite_run_id is not None

    changed = schedules.update(PROJECT, plain.id, ScheduleUpdate.model_validate({"priority": "high"}))
    assert changed.priority == "high"


def test_the_api_shows_and_changes_a_schedules_priority(client: TestClient) -> None:
    test_id = saved_test(client)
    made = client.post("/v1/schedules", json={"test_id": test_id, "rate": "rate(1 hour)"}, headers=ADMIN).json()
    assert made["priority"] == "normal"
    patched = client.patch(f"/v1/schedules/{made['id']}", json={"priority": "low"}, headers=ADMIN)
    assert patched.status_code == 200 and patched.json()["priority"] == "low"
    refused = client.patch(f"/v1/schedules/{made['id']}", json={"priority": "later"}, headers=ADMIN)
    assert refused.status_code == 422 and "body.priority" in refused.json()["error"]["message"]


# ------------------------------------------------------------------------------------------ the queue wait


def service(fakes: FakeServices, clock: Clock) -> RunService:
    return RunService(
        tests=fakes.store,
        runs=fakes.store,
        queue=fakes.queue,
        events=fakes.events,
        artifacts=fakes.artifacts,
        clock=clock,
    )


def test_the_queue_wait_is_recorded_when_a_runner_takes_the_run(fakes: FakeServices) -> None:
    # Given a run started at START
    clock = Clock()
    runs = service(fakes, clock)
    run = runs.start_run(
        PROJECT, RunCreate.model_validate({"spec": {"steps": STEPS}, "priority": "high", "retries": 1})
    )
    assert run.queued_at == START and run.queue_wait_ms is None
    [(message, _)] = fakes.queue.sent
    assert message.priority == "high"

    # When a runner takes it 1.25 s later
    clock.now = START + timedelta(milliseconds=1250)
    taken = runs.take(message)

    # Then the wait is on the run
    assert taken is not None and taken.queue_wait_ms == 1250 and taken.started_at == clock.now

    # And a retry's wait counts from the end of its backoff, at the same priority
    clock.now += timedelta(seconds=2)
    retried = runs.requeue(taken, delay_s=5)
    assert retried.queued_at == clock.now + timedelta(seconds=5)
    (_, (retry, delay)) = fakes.queue.sent
    assert retry.priority == "high" and retry.attempt == 2 and delay == 5
    clock.now += timedelta(seconds=5, milliseconds=40)
    again = runs.take(retry)
    assert again is not None and again.queue_wait_ms == 40


def test_a_run_stored_before_queue_waits_has_none(fakes: FakeServices) -> None:
    clock = Clock()
    runs = service(fakes, clock)
    run = runs.start_run(PROJECT, RunCreate.model_validate({"spec": {"steps": STEPS}}))
    fakes.store.runs[run.id] = run.model_copy(update={"queued_at": None})
    [(message, _)] = fakes.queue.sent
    taken = runs.take(message)
    assert taken is not None and taken.status == RunStatus.running and taken.queue_wait_ms is None


def test_the_queue_wait_is_shown_by_the_api_the_cli_and_the_dashboard(client: TestClient, fakes: FakeServices) -> None:
    run = client.post("/v1/runs", json={"spec": {"name": "Waited", "steps": STEPS}, "priority": "low"}, headers=ADMIN)
    run_id = run.json()["id"]
    assert run.json()["queue_wait_ms"] is None  # not taken yet
    fakes.store.runs[run_id] = fakes.store.runs[run_id].model_copy(
        update={"status": RunStatus.passed, "queue_wait_ms": 1234, "duration_ms": 10}
    )
    assert client.get(f"/v1/runs/{run_id}", headers=ADMIN).json()["queue_wait_ms"] == 1234

    for command in (["runs", "show", run_id], ["status", run_id]):
        shown = run_cli(client, *command)
        assert shown.exit_code == 0, shown.output
        assert "priority low, waited 1.2 s in the queue" in shown.output

    page = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert csrf is not None
    client.post("/ui/login", data={"api_key": BOOTSTRAP_KEY, "csrf": csrf.group(1), "next": "/ui/runs"})
    html = client.get(f"/ui/runs/{run_id}").text
    assert re.search(r"<dt>Priority</dt><dd>low</dd>", html)
    assert re.search(r"<dt>Queue wait</dt><dd>1.2 s</dd>", html)


def test_the_openapi_describes_priority_and_the_queue_wait(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    run = schemas["RunPublic"]["properties"]
    assert "queue" in run["queue_wait_ms"]["description"] and "high" in run["priority"]["description"]
    assert "normal" in schemas["RunCreate"]["properties"]["priority"]["description"]


def test_a_batch_of_a_suite_runs_children_goes_at_the_suite_runs_priority(fakes: FakeServices) -> None:
    suites = SuiteService(
        suites=fakes.suite_store, tests=fakes.store, runs=fakes.services.runs, events=fakes.events, batch_size=4
    )
    tests = [
        fakes.services.catalog.create_test(PROJECT, TestCreate.model_validate({"name": f"t{i}", "steps": STEPS}))[0].id
        for i in range(3)
    ]
    suite = suites.create(PROJECT, SuiteCreate(name="Checkout", tests=tests, max_parallel=1))
    suites.start(PROJECT, suite.id, SuiteRunCreate(priority="low"))
    messages = [message for message, _ in fakes.queue.sent]
    assert any(len(message.batch) > 1 for message in messages)
    assert {message.priority for message in messages} == {"low"}
    members = [member for message in messages for member in message.members()]
    assert {member.priority for member in members} == {"low"}  # what the runner takes each run with


def test_the_cli_sets_a_schedules_priority(client: TestClient) -> None:
    test_id = saved_test(client)
    made = run_cli(client, "schedules", "create", "--test", test_id, "--rate", "rate(1 hour)", "--json")
    low = run_cli(
        client, "schedules", "create", "--test", test_id, "--rate", "rate(1 hour)", "--priority", "low", "--json"
    )
    assert made.exit_code == 0 and low.exit_code == 0, made.output + low.output
    assert json.loads(made.output)["priority"] == "normal"  # not the CLI's high: a schedule is no CI check
    schedule = json.loads(low.output)
    assert schedule["priority"] == "low"
    changed = run_cli(client, "schedules", "update", schedule["id"], "--priority", "high", "--json")
    assert changed.exit_code == 0 and json.loads(changed.output)["priority"] == "high", changed.output
