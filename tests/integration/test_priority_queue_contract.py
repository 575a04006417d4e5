"""Priority at the run queue: one suite run against the in-memory fake and the SQS adapter on moto (as in AWS, each
queue of a round asked with a 1 s long poll; and as local mode has it, in process: woken by its own sends). A
worker takes high before normal before low: a high message sent behind a queue full of low ones is the next one
received. Then what only the adapter does: the queue of each priority, redrive to it, the fallback to the normal
queue of a deployment from before priorities, an idle receive woken by a send; and the runner worker over it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from runner_container.runner.executor import Disposition, Execution
from runner_container.runner.worker import Worker
from shared.aws.clients import client
from shared.aws.factory import build_services
from shared.aws.provision import provision
from shared.aws.sqs import SqsRunQueue
from shared.models.messages import ReceivedMessage, RunMessage
from shared.models.priority import Priority
from shared.ports import RunQueue
from shared.settings import Settings
from tests.fakes import FakeQueue


def _message(run_id: str, priority: Priority) -> RunMessage:
    return RunMessage(run_id=run_id, project_id="prj_priority", attempt=1, priority=priority)


def _ids(received: list[ReceivedMessage]) -> list[str]:
    return [RunMessage.model_validate_json(m.body).run_id for m in received]


def priority_settings(settings: Settings) -> Settings:
    """``settings`` with a high and a low run queue beside its run queue, provisioned."""
    base = settings.run_queue_name
    with_priorities = settings.model_copy(
        update={"run_queue_high_name": f"{base}-high", "run_queue_low_name": f"{base}-low"}
    )
    provision(with_priorities)
    return with_priorities


def sqs_queue(settings: Settings, *, in_process: bool) -> SqsRunQueue:
    queue = build_services(settings, in_process_queues=in_process).queue
    assert isinstance(queue, SqsRunQueue)
    return queue


@pytest.fixture(params=["fake", "sqs", "sqs-in-process"])
def queue(request: pytest.FixtureRequest) -> Iterator[RunQueue]:
    if request.param == "fake":
        yield FakeQueue()
        return
    settings = priority_settings(request.getfixturevalue("aws_settings"))
    yield sqs_queue(settings, in_process=request.param == "sqs-in-process")


# ---------------------------------------------------------------------------------------------- the contract


def test_a_high_message_sent_behind_a_full_queue_of_low_ones_is_received_next(queue: RunQueue) -> None:
    # Given a queue full of low-priority runs, then one normal and one high
    for i in range(15):
        queue.send(_message(f"run_low_{i}", "low"))
    queue.send(_message("run_normal", "normal"))
    queue.send(_message("run_high", "high"))

    # When a worker with one free slot asks, again and again
    taken = [_ids(queue.receive(max_messages=1, wait_s=1, visibility_timeout_s=60)) for _ in range(3)]

    # Then it gets the high one first, then the normal one, and only then a low one
    assert taken[:2] == [["run_high"], ["run_normal"]]
    assert taken[2][0].startswith("run_low_")


def test_free_slots_are_filled_high_first_then_from_the_queues_below(queue: RunQueue) -> None:
    for i in range(4):
        queue.send(_message(f"run_low_{i}", "low"))
    queue.send(_message("run_high", "high"))
    got = _ids(queue.receive(max_messages=3, wait_s=1, visibility_timeout_s=60))
    assert got[0] == "run_high" and len(got) == 3
    assert all(run_id.startswith("run_low_") for run_id in got[1:])


def test_a_message_is_extended_and_deleted_on_the_queue_of_its_priority(queue: RunQueue) -> None:
    queue.send(_message("run_high", "high"))
    queue.send(_message("run_low", "low"))
    [high] = queue.receive(max_messages=1, wait_s=1, visibility_timeout_s=1)
    queue.extend(high.receipt, 60, priority="high")
    [low] = queue.receive(max_messages=1, wait_s=1, visibility_timeout_s=60)
    assert _ids([low]) == ["run_low"]
    queue.delete(high.receipt, priority="high")
    queue.delete(low.receipt, priority="low")
    time.sleep(1.1)  # past the first visibility timeout of the high one: it was extended, then deleted
    assert queue.receive(max_messages=10, wait_s=0, visibility_timeout_s=0) == []


# ---------------------------------------------------------------------------------------------- the adapter


def test_each_priority_is_sent_to_its_own_queue(aws_settings: Settings) -> None:
    settings = priority_settings(aws_settings)
    queue = sqs_queue(settings, in_process=False)
    for priority in ("high", "normal", "low"):
        queue.send(_message(f"run_{priority}", priority))
    sqs = client("sqs", settings.aws_region, settings.aws_endpoint_url)
    for priority, name in settings.run_queues().items():
        assert name is not None
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert RunMessage.model_validate_json(message["Body"]).run_id == f"run_{priority}"


def test_without_priority_queues_every_run_goes_to_the_one_run_queue_as_before(aws_settings: Settings) -> None:
    # Given a configuration from before priorities: AUTOTEST_RUN_QUEUE_NAME alone
    assert aws_settings.run_queue_high_name is None and aws_settings.run_queue_low_name is None
    queue = sqs_queue(aws_settings, in_process=False)

    # When runs of every priority are sent
    for priority in ("low", "high", "normal"):
        queue.send(_message(f"run_{priority}", priority))

    # Then the one queue has them all (in the order sent: no priority without queues of its own)
    received = queue.receive(max_messages=10, wait_s=1, visibility_timeout_s=60)
    assert sorted(_ids(received)) == ["run_high", "run_low", "run_normal"]
    for message in received:
        queue.delete(message.receipt, priority=RunMessage.model_validate_json(message.body).priority)
    assert queue.receive(wait_s=0, visibility_timeout_s=0) == []


def test_a_dead_letter_is_redriven_to_the_queue_of_its_priority(aws_settings: Settings) -> None:
    settings = priority_settings(aws_settings)
    queue = sqs_queue(settings, in_process=True)
    queue.send(_message("run_poison", "high"))
    for _ in range(5):  # delivered and never deleted, MAX_RECEIVE_COUNT times: into the shared DLQ
        assert len(queue.receive(wait_s=0, visibility_timeout_s=0)) == 1
    assert queue.receive(wait_s=0, visibility_timeout_s=0) == []
    assert _ids(queue.receive_dead_letters(visibility_timeout_s=0)) == ["run_poison"]
    assert queue.redrive_dead_letters() == 1
    sqs = client("sqs", settings.aws_region, settings.aws_endpoint_url)
    assert settings.run_queue_high_name is not None
    url = sqs.get_queue_url(QueueName=settings.run_queue_high_name)["QueueUrl"]
    [back] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert RunMessage.model_validate_json(back["Body"]).run_id == "run_poison"


def _receive_into(queue: SqsRunQueue, got: list[ReceivedMessage]) -> None:
    got.extend(queue.receive(wait_s=10, visibility_timeout_s=60))


@pytest.mark.parametrize(("in_process", "within_s"), [(True, 0.5), (False, 3.5)])
def test_an_idle_receive_takes_a_message_of_any_priority_soon(
    aws_settings: Settings, in_process: bool, within_s: float
) -> None:
    """An idle worker hears every queue: in process, a send wakes it at once; on SQS the 1 s rounds find it."""
    queue = sqs_queue(priority_settings(aws_settings), in_process=in_process)
    for priority in ("low", "normal", "high"):
        got: list[ReceivedMessage] = []
        receiving = threading.Thread(target=_receive_into, args=(queue, got))
        receiving.start()
        time.sleep(0.3)  # the receive is waiting on empty queues
        sent = time.monotonic()
        queue.send(_message(f"run_{priority}", priority))
        receiving.join(timeout=15)
        assert _ids(got) == [f"run_{priority}"]
        assert time.monotonic() - sent < within_s, priority


# ---------------------------------------------------------------------------------------------- the worker


class RecordingExecutor:
    """Executes nothing: records the order messages were taken in; each holds its slot until released."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.release = asyncio.Event()

    async def execute(self, message: RunMessage, *, keepalive: Any = None) -> Execution:
        self.taken.append(message.run_id)
        await self.release.wait()
        return Execution(Disposition.done)


async def _until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("in_process", [True, False])
async def test_a_busy_worker_takes_the_high_run_before_the_low_ones_queued_before_it(
    aws_settings: Settings, in_process: bool
) -> None:
    # Given a worker of one slot busy with a low run, and more low runs waiting
    queue = sqs_queue(priority_settings(aws_settings), in_process=in_process)
    for i in range(6):
        queue.send(_message(f"run_low_{i}", "low"))
    executor = RecordingExecutor()
    worker = Worker(executor=executor, queue=queue, concurrency=1, visibility_timeout_s=60, wait_s=2)  # type: ignore[arg-type]
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop))
    await _until(lambda: len(executor.taken) == 1)

    # When a high run is sent, and the slot frees
    queue.send(_message("run_high", "high"))
    executor.release.set()

    # Then the high run is the next one the worker takes
    await _until(lambda: len(executor.taken) >= 2)
    stop.set()
    await asyncio.wait_for(running, timeout=30)
    assert executor.taken[0].startswith("run_low_") and executor.taken[1] == "run_high"
