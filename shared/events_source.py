"""Run events for live progress (``GET /v1/runs/{id}/events``): the ``RunEvents`` port and its two
implementations.

- :class:`PollingRunEvents` reads the run store every ``interval_s`` and turns what changed into
  events. It works in any deployment.
- :class:`BusRunEvents` is pushed ``Run Status Changed`` events from the EventBridge bus (local mode:
  an EventBridge rule -> SQS queue -> a bridge task -> :class:`EventHub`) and reads the store only
  for step progress while a run is running, and as a safety net should an event be lost.

Both yield the run's current status first, then each change (step results as they are written,
then the status), and stop after a terminal status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Literal, Protocol

from shared.errors import DomainError
from shared.models.common import Model
from shared.models.events import RunStatusChanged
from shared.models.runs import Run, RunStatus, StepResult
from shared.observability import logger


class StepProgress(Model):
    """A step of a run finished (SSE event ``step``)."""

    run_id: str
    attempt: int
    iteration: int | None = None
    step: StepResult


RunEvent = RunStatusChanged | StepProgress
#: Reads a run (already known to belong to the caller's project). Blocking: called in a thread.
RunReader = Callable[[str], Run]


def event_name(event: RunEvent) -> Literal["status", "step"]:
    return "status" if isinstance(event, RunStatusChanged) else "step"


class RunEvents(Protocol):
    def events(self, run: Run) -> AsyncIterator[RunEvent]:
        """Events of ``run`` from now until it ends: its current status first, then every change."""


def status_event(run: Run, previous: Run | None = None) -> RunStatusChanged:
    """The ``Run Status Changed`` event that describes ``run`` as it is now."""
    return RunStatusChanged.of(run, previous=previous.status if previous is not None else None)


class _Tracker:
    """Remembers what a subscriber has been told and turns a fresh read of the run into the events
    it has not seen yet (new step results, then a status change)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.status_key = (run.status, run.attempt)
        self.steps_seen = 0

    @staticmethod
    def _steps(run: Run) -> list[tuple[int | None, StepResult]]:
        if run.iterations:
            return [(it.index, step) for it in run.iterations for step in it.steps]
        return [(None, step) for step in run.steps]

    def first(self) -> list[RunEvent]:
        """The run's status as it is, then the steps its current attempt has already finished."""
        return [status_event(self.run), *self.steps_of(self.run)]

    def steps_of(self, run: Run) -> list[RunEvent]:
        steps = self._steps(run)
        if run.attempt != self.run.attempt:
            self.steps_seen = 0  # a new attempt starts its steps again
        new = steps[self.steps_seen :]
        self.steps_seen = len(steps)
        return [StepProgress(run_id=run.id, attempt=run.attempt, iteration=i, step=s) for i, s in new]

    def changes(self, run: Run) -> list[RunEvent]:
        """What changed since the last read: a run that started comes before its steps, steps
        come before the status that ended their attempt."""
        status: list[RunEvent] = []
        if (run.status, run.attempt) != self.status_key:
            status = [status_event(run, self.run)]
            self.status_key = (run.status, run.attempt)
        events = _ordered(status, self.steps_of(run), run.status)
        self.run = run
        return events

    def pushed(self, event: RunStatusChanged) -> list[RunEvent]:
        """A status event from the bus; dropped when it is old news."""
        if (event.status, event.attempt) == self.status_key or event.attempt < self.status_key[1]:
            return []
        self.status_key = (event.status, event.attempt)
        return [event]

    @property
    def ended(self) -> bool:
        return self.status_key[0].terminal


def _ordered(status: list[RunEvent], steps: list[RunEvent], new_status: RunStatus) -> list[RunEvent]:
    return [*status, *steps] if new_status == RunStatus.running else [*steps, *status]


async def _read(read: RunReader, run_id: str) -> Run | None:
    try:
        return await asyncio.to_thread(read, run_id)
    except DomainError as exc:  # the store is unavailable for a moment: try again on the next tick
        logger.warning("could not read a run for its event stream", run_id=run_id, error=exc.message)
        return None


class PollingRunEvents:
    """Reads the run every ``interval_s``. The default source: works in any deployment."""

    def __init__(self, read: RunReader, *, interval_s: float = 1.0) -> None:
        self._read = read
        self._interval_s = interval_s

    async def events(self, run: Run) -> AsyncIterator[RunEvent]:
        tracker = _Tracker(run)
        for event in tracker.first():
            yield event
        while not tracker.ended:
            await asyncio.sleep(self._interval_s)
            current = await _read(self._read, run.id)
            if current is not None:
                for event in tracker.changes(current):
                    yield event


class EventHub:
    """Fans ``Run Status Changed`` events out to the subscribers of each run (one event loop)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[RunStatusChanged | None]]] = {}
        self._closed = False

    def subscribe(self, run_id: str) -> asyncio.Queue[RunStatusChanged | None]:
        queue: asyncio.Queue[RunStatusChanged | None] = asyncio.Queue()
        if self._closed:
            queue.put_nowait(None)
        self._subscribers.setdefault(run_id, set()).add(queue)
        return queue

    def unsubscribe(self, run_id: str, queue: asyncio.Queue[RunStatusChanged | None]) -> None:
        queues = self._subscribers.get(run_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[run_id]

    def publish(self, event: RunStatusChanged) -> int:
        """Hand ``event`` to the run's subscribers; returns how many there were."""
        queues = self._subscribers.get(event.run_id, set())
        for queue in queues:
            queue.put_nowait(event)
        return len(queues)

    def close(self) -> None:
        """End every subscription (shutdown)."""
        self._closed = True
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)

    @property
    def subscriber_count(self) -> int:
        return sum(len(q) for q in self._subscribers.values())


class BusRunEvents:
    """Status events pushed from the bus through an :class:`EventHub`; step progress read from the
    store every ``step_poll_s`` while the run is running (and whenever the bus has been quiet that
    long, so a lost event delays the stream but never stalls it)."""

    def __init__(self, hub: EventHub, read: RunReader, *, step_poll_s: float = 0.5) -> None:
        self._hub = hub
        self._read = read
        self._step_poll_s = step_poll_s

    async def events(self, run: Run) -> AsyncIterator[RunEvent]:
        queue = self._hub.subscribe(run.id)  # before the first read: no event can fall in between
        try:
            tracker = _Tracker(run)
            for event in tracker.first():
                yield event
            while not tracker.ended:
                pushed: RunStatusChanged | None = None
                with suppress(TimeoutError):
                    pushed = await asyncio.wait_for(queue.get(), timeout=self._step_poll_s)
                    if pushed is None:  # the hub closed: local mode is shutting down
                        return
                current = await _read(self._read, run.id)
                if pushed is not None:
                    steps = tracker.steps_of(current) if current is not None else []
                    events = _ordered(tracker.pushed(pushed), steps, pushed.status)
                    if current is not None:
                        tracker.run = current
                elif current is not None:
                    events = tracker.changes(current)
                else:
                    events = []
                for event in events:
                    yield event
        finally:
            self._hub.unsubscribe(run.id, queue)
