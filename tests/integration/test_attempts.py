"""A crashed worker's run is executed again as a new attempt, the same way over the fakes and over the AWS
adapters (DynamoDB's conditional writes on status, attempt and heartbeat; SQS messages carrying the attempt)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoRepository
from shared.aws.sqs import SqsRunQueue
from shared.errors import Conflict
from shared.ids import utcnow
from shared.models.messages import RunMessage
from shared.models.runs import RunCreate, RunStatus, StepResult
from shared.ports import RunQueue, RunStore
from shared.services.runs import RunService
from shared.settings import Settings
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeStore

Wiring = tuple[RunStore, RunQueue, Callable[[], RunMessage]]


@pytest.fixture(params=["fakes", "aws"])
def wiring(request: pytest.FixtureRequest) -> Wiring:
    if request.param == "fakes":
        fake_queue = FakeQueue()
        return FakeStore(), fake_queue, lambda: fake_queue.sent.pop(0)[0]
    settings: Settings = request.getfixturevalue("aws_settings")
    repo = DynamoRepository(client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name)
    sqs = SqsRunQueue(
        client("sqs", settings.aws_region, settings.aws_endpoint_url), settings.run_queue_name, settings.run_dlq_name
    )

    def next_message() -> RunMessage:
        [received] = sqs.receive(max_messages=1, wait_s=1)
        sqs.delete(received.receipt)
        return RunMessage.model_validate_json(received.body)

    return repo, sqs, next_message


def test_a_takeover_is_a_new_attempt_and_the_old_worker_cannot_write(wiring: Wiring) -> None:
    store, queue, next_message = wiring
    runs = RunService(tests=FakeStore(), runs=store, queue=queue, events=FakeEvents(), artifacts=FakeArtifacts())
    spec = {"spec": {"steps": [{"action": "goto", "url": "http://127.0.0.1:1/"}]}}
    run = runs.start_run("prj_a", RunCreate.model_validate(spec))

    def go_silent() -> None:
        store.update_run(run.id, {"heartbeat_at": (utcnow() - timedelta(minutes=10)).isoformat()})

    # Given attempt 1 taken by a worker
    first = next_message()
    held = runs.take(first)
    assert held is not None and held.attempt == 1

    # When its heartbeat goes stale but it beats again before another delivery: nothing is taken over
    go_silent()
    held = runs.heartbeat(held)
    assert runs.take(first) is None and store.get_run(run.id).attempt == 1

    # When it goes silent for good and the message comes again: the run is queued as attempt 2
    go_silent()
    assert runs.take(first) is None
    queued = store.get_run(run.id)
    assert (queued.status, queued.attempt) == (RunStatus.queued, 2)
    assert [i.attempt for i in queued.interruptions] == [1]

    # Then the old worker's late writes are refused (status and attempt), and its message is stale
    with pytest.raises(Conflict):
        runs.update_progress(held, steps=[StepResult(index=0, action="goto", status="passed")])
    with pytest.raises(Conflict):
        runs.end_attempt(held, RunStatus.passed)
    second = next_message()
    assert second.attempt == 2
    assert runs.take(first) is None

    # and attempt 2 runs to the end, its interruption kept, not flaky
    taken = runs.take(second)
    assert taken is not None and (taken.status, taken.attempt) == (RunStatus.running, 2)
    done = runs.end_attempt(taken, RunStatus.passed)
    assert (done.status, done.attempt, done.flaky) == (RunStatus.passed, 2, False)
    stored = store.get_run(run.id)
    assert stored.interruptions == queued.interruptions and "stopped responding" in stored.interruptions[0].reason
