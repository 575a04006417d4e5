"""The runner worker's polling: an empty answer to a long poll that waited its whole time is followed by the next
poll at once (a run sent then starts then); an empty answer that came back at once (a queue that does not wait)
is followed by the idle pause, so the loop never spins. The clock is a fake one that the queue moves on."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from runner_container.runner import worker as worker_module
from runner_container.runner.worker import Worker
from shared.models.messages import ReceivedMessage
from tests.fakes import FakeQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class EmptyQueue(FakeQueue):
    """Answers every poll with nothing, after ``waits_s`` of the fake clock; stops the worker after ``polls``."""

    def __init__(self, clock: Clock, *, waits_s: float, polls: int, stop: asyncio.Event) -> None:
        super().__init__()
        self._clock, self._waits_s, self._left, self._stop = clock, waits_s, polls, stop
        self.polls = 0
        self.loop = asyncio.get_running_loop()

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        self.polls += 1
        self._clock.now += self._waits_s
        if self.polls >= self._left:
            self.loop.call_soon_threadsafe(self._stop.set)
        return []


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    # the worker module's ``time`` only (the event loop keeps the real clock)
    monkeypatch.setattr(worker_module, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    taken: list[float] = []

    async def sleep_unless(stopping: Any, seconds: float) -> None:
        taken.append(seconds)

    monkeypatch.setattr(worker_module, "_sleep_unless", sleep_unless)
    return taken


async def run_worker(queue: EmptyQueue, stop: asyncio.Event, *, wait_s: int) -> None:
    worker = Worker(executor=object(), queue=queue, concurrency=1, visibility_timeout_s=30, wait_s=wait_s)  # type: ignore[arg-type]
    await asyncio.wait_for(worker.run_forever(stop), timeout=10)


async def test_a_long_poll_that_waited_its_time_is_polled_again_at_once(clock: Clock, pauses: list[float]) -> None:
    # Given a queue whose every poll waits the whole long-poll time and finds nothing
    stop = asyncio.Event()
    queue = EmptyQueue(clock, waits_s=2.0, polls=5, stop=stop)

    # When the worker polls it
    await run_worker(queue, stop, wait_s=2)

    # Then it polled again at once each time: no idle pause
    assert queue.polls == 5
    assert pauses == []


async def test_an_empty_answer_at_once_is_followed_by_the_idle_pause(clock: Clock, pauses: list[float]) -> None:
    # Given a queue that answers at once with nothing (it does not wait)
    stop = asyncio.Event()
    queue = EmptyQueue(clock, waits_s=0.0, polls=4, stop=stop)

    # When the worker polls it
    await run_worker(queue, stop, wait_s=2)

    # Then it paused after each answer (the loop does not spin)
    assert queue.polls == 4
    assert pauses[:3] == [0.2, 0.2, 0.2]


async def test_a_worker_that_does_not_long_poll_pauses_between_polls(clock: Clock, pauses: list[float]) -> None:
    # Given a worker with no long poll (wait_s 0) and a queue that answers at once
    stop = asyncio.Event()
    queue = EmptyQueue(clock, waits_s=0.0, polls=3, stop=stop)

    # When it polls
    await run_worker(queue, stop, wait_s=0)

    # Then it pauses between polls
    assert pauses[:2] == [0.2, 0.2]
