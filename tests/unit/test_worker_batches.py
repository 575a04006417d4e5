"""The worker and the executor with a batch message (several runs of a suite run): each run taken on its own and
executed in turn, the message kept alive throughout and deleted once all are handled; a duplicate delivery, a
cancelled run, a retried run, a run held elsewhere and a run that crashes its execution. The plan itself is not
executed (no browser): ``_execute_held`` is replaced by an outcome per run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import Disposition, RunExecutor, _Held
from runner_container.runner.worker import Worker
from shared.models.messages import BatchMember, ReceivedMessage, RunMessage
from shared.models.priority import Priority
from shared.models.runs import Run, RunCreate, RunStatus
from shared.services.secrets import Secrets
from tests.conftest import FakeServices
from tests.fakes import FakeQueue

PROJECT = "prj_a"
SPEC = {"steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}


class CountingQueue(FakeQueue):
    def __init__(self) -> None:
        super().__init__()
        self.extended: list[str] = []

    def extend(self, receipt: str, visibility_timeout_s: int, *, priority: Priority = "normal") -> None:
        self.extended.append(receipt)


class ScriptedExecutor(RunExecutor):
    """The real executor (take, heartbeats, the end of the attempt) with each run's outcome given instead of its
    plan executed."""

    def __init__(self, fakes: FakeServices, **config: Any) -> None:
        super().__init__(
            runs=fakes.services.runs,
            artifacts=fakes.artifacts,
            secrets=Secrets(fakes.secret_store),
            pool=BrowserPool(concurrency=1),
            config=RunnerConfig(**config),
        )
        self.outcomes: dict[str, RunStatus | Exception] = {}
        self.executed: list[tuple[str, int]] = []
        self.seconds = 0.0

    async def _execute_held(self, held: _Held) -> Run:
        self.executed.append((held.run.id, held.run.attempt))
        await asyncio.sleep(self.seconds)
        outcome = self.outcomes.pop(held.run.id, RunStatus.passed)  # once: a retry passes
        if isinstance(outcome, Exception):
            raise outcome
        return await asyncio.to_thread(self._runs.end_attempt, held.run, outcome)


@pytest.fixture
def queue(fakes: FakeServices) -> CountingQueue:
    """The fakes with a queue that records visibility extensions, wired into the run service."""
    counting = CountingQueue()
    fakes.queue = counting
    fakes.services.runs._queue = counting
    return counting


def batch_of(fakes: FakeServices, count: int, **body: Any) -> tuple[list[Run], ReceivedMessage]:
    runs = [
        fakes.services.runs.start_run(PROJECT, RunCreate.model_validate({"spec": SPEC, **body}), enqueue=False)
        for _ in range(count)
    ]
    fakes.services.runs.send_batch(runs)
    message, _ = fakes.queue.sent.pop()
    assert [m.run_id for m in message.members()] == [r.id for r in runs]
    return runs, ReceivedMessage(body=message.model_dump_json(), receipt="r-1", message_id="m-1")


def worker_of(executor: RunExecutor, queue: FakeQueue) -> Worker:
    return Worker(executor=executor, queue=queue, concurrency=1, visibility_timeout_s=30)


def statuses(fakes: FakeServices, runs: list[Run]) -> list[str]:
    return [fakes.store.get_run(r.id).status.value for r in runs]


async def test_a_batch_runs_each_run_in_turn_and_is_deleted_once_all_ended(
    fakes: FakeServices, queue: CountingQueue
) -> None:
    # Given three runs in one message, each taking longer than a heartbeat
    runs, received = batch_of(fakes, 3)
    executor = ScriptedExecutor(fakes, heartbeat_s=0.05)
    executor.seconds = 0.12

    # When a worker handles it
    await worker_of(executor, queue).handle(received)

    # Then each ran once, in order, the message was kept alive throughout and deleted at the end
    assert executor.executed == [(r.id, 1) for r in runs]
    assert statuses(fakes, runs) == ["passed"] * 3
    assert queue.deleted == ["r-1"]
    assert len(queue.extended) >= 2 + 3  # before the 2nd and 3rd run, and by each run's heartbeats
    executor.close()


async def test_a_batch_delivered_twice_executes_nothing_twice(fakes: FakeServices, queue: CountingQueue) -> None:
    runs, received = batch_of(fakes, 2)
    executor = ScriptedExecutor(fakes)
    worker = worker_of(executor, queue)
    await worker.handle(received)
    await worker.handle(received)
    assert executor.executed == [(r.id, 1) for r in runs]
    assert queue.deleted == ["r-1", "r-1"]  # the duplicate is handled (nothing to do) and deleted
    executor.close()


async def test_a_cancelled_run_of_a_batch_is_skipped(fakes: FakeServices, queue: CountingQueue) -> None:
    runs, received = batch_of(fakes, 3)
    fakes.services.runs.cancel(PROJECT, runs[1].id)
    executor = ScriptedExecutor(fakes)
    await worker_of(executor, queue).handle(received)
    assert executor.executed == [(runs[0].id, 1), (runs[2].id, 1)]
    assert statuses(fakes, runs) == ["passed", "cancelled", "passed"]
    assert queue.deleted == ["r-1"]
    executor.close()


async def test_a_run_of_a_batch_that_is_retried_goes_back_alone(fakes: FakeServices, queue: CountingQueue) -> None:
    runs, received = batch_of(fakes, 2, retries=1)
    executor = ScriptedExecutor(fakes)
    executor.outcomes[runs[0].id] = RunStatus.failed
    await worker_of(executor, queue).handle(received)
    retry, _ = queue.sent[-1]
    assert retry == RunMessage(run_id=runs[0].id, project_id=PROJECT, attempt=2, correlation_id=runs[0].correlation_id)
    assert statuses(fakes, runs) == ["queued", "passed"]
    await worker_of(executor, queue).handle(
        ReceivedMessage(body=retry.model_dump_json(), receipt="r-2", message_id="m-2")
    )
    assert executor.executed == [(runs[0].id, 1), (runs[1].id, 1), (runs[0].id, 2)]
    assert statuses(fakes, runs) == ["passed", "passed"]
    executor.close()


async def test_a_run_held_by_another_worker_leaves_the_batch_for_redelivery(
    fakes: FakeServices, queue: CountingQueue
) -> None:
    # Given a batch whose first run another worker is executing (a duplicate delivery got there first)
    runs, received = batch_of(fakes, 2)
    held = fakes.services.runs.take(RunMessage(run_id=runs[0].id, project_id=PROJECT, attempt=1))
    assert held is not None
    executor = ScriptedExecutor(fakes)

    # When this worker handles the batch, the other run executes, and the message stays
    await worker_of(executor, queue).handle(received)
    assert executor.executed == [(runs[1].id, 1)] and queue.deleted == []

    # Then, once the other worker ended the first, the redelivery executes nothing and is deleted
    fakes.services.runs.end_attempt(held, RunStatus.passed)
    await worker_of(executor, queue).handle(received)
    assert executor.executed == [(runs[1].id, 1)] and queue.deleted == ["r-1"]
    assert statuses(fakes, runs) == ["passed", "passed"]
    executor.close()


async def test_a_run_whose_execution_crashes_does_not_stop_its_batch_mates(
    fakes: FakeServices, queue: CountingQueue
) -> None:
    runs, received = batch_of(fakes, 3)
    executor = ScriptedExecutor(fakes)
    executor.outcomes[runs[0].id] = RuntimeError("worker lost its browser")
    await worker_of(executor, queue).handle(received)
    # the others ran; the message is left for redelivery, where the crashed run is taken over once stale
    assert executor.executed == [(r.id, 1) for r in runs] and queue.deleted == []
    assert statuses(fakes, runs) == ["running", "passed", "passed"]
    result = await executor.execute(RunMessage.model_validate_json(received.body))
    assert result.disposition == Disposition.busy and len(executor.executed) == 3  # nothing twice
    executor.close()


def test_an_unbatched_message_is_what_it_always_was() -> None:
    old = '{"run_id": "run_a", "project_id": "p", "attempt": 2, "correlation_id": null}'
    message = RunMessage.model_validate_json(old)
    assert message.members() == [message] and message.batch == []
    batch = message.model_copy(update={"batch": [BatchMember(run_id="run_a", attempt=2)]})
    assert batch.members() == [message]
