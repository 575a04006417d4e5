"""What a runner that holds a run writes and polls while it executes it, one suite run against the in-memory fake
and the DynamoDB repository (on moto): progress written without a read-back, the small control read, and the
service rules on top of them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoRepository
from shared.errors import Conflict, NotFound
from shared.ids import new_id, utcnow
from shared.models.runs import Run, RunStatus, StepResult
from shared.models.tests import TestKind, TestSpec
from shared.services.runs import RunService
from shared.settings import Settings
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeStore

PROJECT = "prj_progress"


@pytest.fixture(params=["fake", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[FakeStore | DynamoRepository]:
    if request.param == "fake":
        yield FakeStore()
        return
    settings: Settings = request.getfixturevalue("aws_settings")
    yield DynamoRepository(client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name)


def _running(store: FakeStore | DynamoRepository, *, attempt: int = 1) -> Run:
    now = utcnow()
    run = Run(
        id=new_id("run"),
        project_id=PROJECT,
        kind=TestKind.api,
        status=RunStatus.running,
        attempt=attempt,
        max_attempts=3,
        spec=TestSpec.model_validate({"steps": [{"action": "request", "url": "http://127.0.0.1:1/"}] * 3}),
        timeout_s=60,
        created_at=now,
        updated_at=now,
        started_at=now,
    )
    store.create_run(run)
    return run


def _step(index: int) -> StepResult:
    return StepResult(index=index, action="request", status="passed", duration_ms=5)


def test_write_run_writes_the_fields_and_returns_nothing(store: FakeStore | DynamoRepository) -> None:
    run = _running(store)
    steps = [_step(0).model_dump(mode="json"), _step(1).model_dump(mode="json")]

    returned = store.write_run(run.id, {"steps": steps}, expected_status=RunStatus.running, expected_attempt=1)

    assert returned is None
    stored = store.get_run(run.id)
    assert [s.index for s in stored.steps] == [0, 1]
    assert stored.status == RunStatus.running and stored.spec == run.spec  # nothing else touched


def test_write_run_is_conditional_on_the_status_and_the_attempt(store: FakeStore | DynamoRepository) -> None:
    run = _running(store, attempt=2)
    steps = [_step(0).model_dump(mode="json")]

    with pytest.raises(Conflict):
        store.write_run(run.id, {"steps": steps}, expected_status=RunStatus.running, expected_attempt=1)
    with pytest.raises(Conflict):
        store.write_run(run.id, {"steps": steps}, expected_status=RunStatus.queued, expected_attempt=2)
    with pytest.raises((Conflict, NotFound)):
        store.write_run("run_missing", {"steps": steps}, expected_status=RunStatus.running, expected_attempt=1)
    assert store.get_run(run.id).steps == []


def test_the_control_read_is_status_attempt_and_cancel(store: FakeStore | DynamoRepository) -> None:
    run = _running(store, attempt=2)

    control = store.get_run_control(run.id)
    assert (control.status, control.attempt, control.cancel_requested) == (RunStatus.running, 2, False)

    store.update_run(run.id, {"cancel_requested": True}, expected_status=RunStatus.running)
    assert store.get_run_control(run.id).cancel_requested is True
    with pytest.raises(NotFound):
        store.get_run_control("run_missing")


def test_the_service_records_progress_and_notices_a_cancel_or_a_lost_run(store: FakeStore | DynamoRepository) -> None:
    runs = RunService(tests=store, runs=store, queue=FakeQueue(), events=FakeEvents(), artifacts=FakeArtifacts())
    run = _running(store)

    runs.record_progress(run, steps=[_step(0), _step(1)])
    assert [s.index for s in store.get_run(run.id).steps] == [0, 1]
    assert runs.control(run).cancel_requested is False

    runs.cancel(PROJECT, run.id)
    assert runs.control(run).cancel_requested is True
    assert store.get_run(run.id).status == RunStatus.running  # asked to stop between steps

    store.update_run(run.id, {"status": "timed_out"}, expected_status=RunStatus.running, project_id=PROJECT)
    with pytest.raises(Conflict, match="timed_out"):
        runs.control(run)
    with pytest.raises(Conflict):
        runs.record_progress(run, steps=[_step(0), _step(1), _step(2)])
    assert len(store.get_run(run.id).steps) == 2  # a run that ended elsewhere keeps what it had


def test_a_run_id_taken_is_a_conflict_and_the_first_run_stays(store: FakeStore | DynamoRepository) -> None:
    """Run ids are global (``RUN#<id>``) and some are derived (a suite run's children, a GitHub delivery's): a
    second run with one, of another project even, must not replace the first."""
    first = _running(store)
    with pytest.raises(Conflict):
        store.create_run(first.model_copy(update={"project_id": "another-project", "status": RunStatus.queued}))
    kept = store.get_run(first.id)
    assert (kept.project_id, kept.status) == (PROJECT, RunStatus.running)
