"""Run events for live progress (``GET /v1/runs/{id}/events``): the ``RunEvents`` port and its
implementation, :class:`RunFeeds`.

A stream yields the run's current status first, then each change (step results as they are written, then
the status), and stops after a terminal status. What changed is found by reading the run from the store
every ``tick_s``; with an :class:`EventHub` (local mode: an EventBridge rule -> SQS queue -> a bridge task ->
the hub), ``Run Status Changed`` events are also pushed as they happen, and the store is read at once then
(and every ``tick_s`` for step progress, and as a safety net should an event be lost). Without a hub it
works in any deployment. Each step is sent once, with the attempt that wrote it: a retried run keeps the failed
attempt's steps until its retry writes its first, and those are never sent as the retry's
(``shared/attempt_steps.py``).

**One reader per run, whatever the number of streams.** A run item can be hundreds of KB; a hundred streams
each reading it every tick took a hundred reads per tick, and the threads to do them, from every other
request of the API. So the streams of one run share one *feed*: one task that reads the run once per tick
and hands each read to every stream, which turns it into the events it has not sent yet. The feed starts
with the run's first stream and stops with its last.

**Open streams are capped** (:class:`StreamLimits`): per project (``AUTOTEST_EVENT_STREAMS_PER_PROJECT``)
and per run (``AUTOTEST_EVENT_STREAMS_PER_RUN``), in this API process. Opening one beyond a cap raises
:class:`~shared.errors.Throttled` (the API's 429); closing a stream frees its slot at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Literal, Protocol

from shared.attempt_steps import AttemptSteps, held_like_record
from shared.errors import DomainError, Throttled
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
#: ``read(project_id, run_id)``: reads a run of a project (NotFound for another project's). Blocking: called in a
#: thread.
RunReader = Callable[[str, str], Run]


def event_name(event: RunEvent) -> Literal["status", "step"]:
    return "status" if isinstance(event, RunStatusChanged) else "step"


class RunStream(Protocol):
    """The events of one run for one subscriber, until the run ends; ``close`` (idempotent) ends it early and
    frees its slot."""

    def __aiter__(self) -> AsyncIterator[RunEvent]: ...

    async def __anext__(self) -> RunEvent: ...

    def close(self) -> None: ...


class RunEvents(Protocol):
    def open(self, project_id: str, run: Run) -> RunStream:
        """A stream of ``run``'s events (a run of ``project_id``, as read by the caller) from now until it ends:
        its current status first, then every change. Raises :class:`~shared.errors.Throttled` when the project,
        or the run, has as many open streams as it may."""


def status_event(run: Run, previous: Run | None = None) -> RunStatusChanged:
    """The ``Run Status Changed`` event that describes ``run`` as it is now."""
    return RunStatusChanged.of(run, previous=previous.status if previous is not None else None)


Held = tuple[int | None, StepResult]


class _Tracker:
    """Remembers what a subscriber has been told and turns a fresh read of the run into the events
    it has not seen yet (new step results, then a status change). Each step is told once, under the attempt
    it belongs to (:class:`AttemptSteps`)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.status_key = (run.status, run.attempt)
        self._attempts: AttemptSteps[Held] = AttemptSteps()

    @staticmethod
    def _steps(run: Run) -> list[Held]:
        if run.iterations:
            return [(it.index, step) for it in run.iterations for step in it.steps]
        return [(None, step) for step in run.steps]

    def first(self) -> list[RunEvent]:
        """The run's status as it is, then the steps its current attempt has already finished."""
        _, own = self.steps_of(self.run)
        return [status_event(self.run), *own]

    def steps_of(self, run: Run) -> tuple[list[RunEvent], list[RunEvent]]:
        """``(the steps of the attempt before not sent yet, the current attempt's not sent yet)``."""

        def like_previous() -> bool | None:
            return held_like_record(run.model_dump(mode="json", include={"attempt", "steps", "iterations", "attempts"}))

        earlier, own = self._attempts.read(run.attempt, run.status == RunStatus.queued, self._steps(run), like_previous)
        return self._events(run, run.attempt - 1, earlier), self._events(run, run.attempt, own)

    @staticmethod
    def _events(run: Run, attempt: int, steps: list[Held]) -> list[RunEvent]:
        return [StepProgress(run_id=run.id, attempt=attempt, iteration=i, step=s) for i, s in steps]

    def changes(self, run: Run) -> list[RunEvent]:
        """What changed since the last read: a run that started comes before its steps, steps
        come before the status that ended their attempt."""
        status: list[RunEvent] = []
        if (run.status, run.attempt) != self.status_key:
            status = [status_event(run, self.run)]
            self.status_key = (run.status, run.attempt)
        earlier, own = self.steps_of(run)
        self.run = run
        return _ordered(earlier, status, own)

    def pushed(self, event: RunStatusChanged) -> list[RunStatusChanged]:
        """A status event from the bus; dropped when it is old news."""
        if (event.status, event.attempt) == self.status_key or event.attempt < self.status_key[1]:
            return []
        self.status_key = (event.status, event.attempt)
        return [event]

    @property
    def ended(self) -> bool:
        return self.status_key[0].terminal


def _ordered(earlier: list[RunEvent], statuses: list[RunEvent], own: list[RunEvent]) -> list[RunEvent]:
    """The steps of the attempt before first (they ended it), then the statuses up to the current attempt's
    start, its steps, and the status that ended it."""
    ending = [e for e in statuses if isinstance(e, RunStatusChanged) and e.status.terminal]
    return [*earlier, *(e for e in statuses if e not in ending), *own, *ending]


async def _read(read: RunReader, project_id: str, run_id: str) -> Run | None:
    try:
        return await asyncio.to_thread(read, project_id, run_id)
    except DomainError as exc:  # the store is unavailable for a moment: try again on the next tick
        logger.warning("could not read a run for its event stream", run_id=run_id, error=exc.message)
        return None


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


@dataclass(frozen=True)
class StreamLimits:
    """The most event streams open at once in this API process, per project and per run."""

    per_project: int = 20
    per_run: int = 5


class _Feed:
    """One run's reader: reads it every tick (and when an event is pushed) for all of its streams, and keeps
    the latest read and every pushed event for them. Starts with its first stream's first wait."""

    def __init__(self, project_id: str, run_id: str) -> None:
        self.project_id = project_id
        self.run_id = run_id
        self.streams = 0
        self.reads = 0  # successful reads so far; ``latest`` is the last of them
        self.latest: Run | None = None
        self.pushed: list[RunStatusChanged] = []
        self.closed = False  # the hub closed (shutdown), or the feed failed: its streams end
        self.task: asyncio.Task[None] | None = None
        self.queue: asyncio.Queue[RunStatusChanged | None] | None = None  # its subscription to the hub
        self._published = asyncio.Event()

    def publish(self) -> None:
        """Wake every stream waiting for news."""
        published, self._published = self._published, asyncio.Event()
        published.set()

    async def news(self) -> None:
        """Wait for the next publication."""
        await self._published.wait()


class _Stream:
    """One subscriber's view of a feed: turns its reads and pushed events into the events this subscriber
    has not been sent yet (``_Tracker``)."""

    def __init__(self, feeds: RunFeeds, feed: _Feed, run: Run) -> None:
        self._feeds = feeds
        self._feed = feed
        self._tracker = _Tracker(run)
        self._reads_seen = feed.reads
        self._pushed_seen = len(feed.pushed)
        self._pending: deque[RunEvent] = deque(self._tracker.first())
        self._closed = False

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> RunEvent:
        feed = self._feed
        while not self._pending:
            if self._closed or feed.closed or self._tracker.ended:
                self.close()
                raise StopAsyncIteration
            if feed.reads == self._reads_seen and len(feed.pushed) == self._pushed_seen:
                self._feeds.start(feed)
                await feed.news()
                continue
            self._pending.extend(self._catch_up())
        return self._pending.popleft()

    def _catch_up(self) -> list[RunEvent]:
        feed, tracker = self._feed, self._tracker
        pushed = feed.pushed[self._pushed_seen :]
        current = feed.latest if feed.reads != self._reads_seen else None
        self._pushed_seen, self._reads_seen = len(feed.pushed), feed.reads
        if pushed:
            statuses: list[RunEvent] = [event for push in pushed for event in tracker.pushed(push)]
            earlier, own = tracker.steps_of(current) if current is not None else ([], [])
            if current is not None:
                tracker.run = current
            return _ordered(earlier, statuses, own)
        return tracker.changes(current) if current is not None else []

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._feeds.release(self._feed)

    async def aclose(self) -> None:
        self.close()


class RunFeeds:
    """The ``RunEvents`` of one API process: one feed per followed run, shared by all of its streams, and
    the caps on open streams (see the module docstring). ``read`` reads a run of a project (blocking);
    ``hub``, when given, pushes status events; ``tick_s``: how often a followed run is read. ``queued_tick_s``
    (with a hub only): how often a run last read as queued is read when nothing is pushed. It has no steps to show
    and its start is pushed, so a suite's many queued runs need not be read every tick (default: ``tick_s``)."""

    def __init__(
        self,
        read: RunReader,
        *,
        hub: EventHub | None = None,
        tick_s: float = 1.0,
        queued_tick_s: float | None = None,
        limits: StreamLimits | None = None,
    ) -> None:
        self._read = read
        self._hub = hub
        self._tick_s = tick_s
        self._queued_tick_s = tick_s if queued_tick_s is None else max(tick_s, queued_tick_s)
        self._limits = limits or StreamLimits()
        self._feeds: dict[tuple[str, str], _Feed] = {}
        self._per_project: Counter[str] = Counter()

    def open(self, project_id: str, run: Run) -> _Stream:
        key = (project_id, run.id)
        feed = self._feeds.get(key)
        limits = self._limits
        if self._per_project[project_id] >= limits.per_project:
            raise Throttled(
                f"this project already has {limits.per_project} open event streams, the most it may have at once "
                f"(AUTOTEST_EVENT_STREAMS_PER_PROJECT): close one, or poll GET /v1/runs/{run.id}",
                details={"scope": "project", "limit": limits.per_project},
            )
        if feed is not None and feed.streams >= limits.per_run:
            raise Throttled(
                f"run {run.id} already has {limits.per_run} open event streams, the most a run may have at once "
                f"(AUTOTEST_EVENT_STREAMS_PER_RUN): close one, or poll GET /v1/runs/{run.id}",
                details={"scope": "run", "limit": limits.per_run},
            )
        if feed is None:
            feed = self._feeds[key] = _Feed(project_id, run.id)
        feed.streams += 1
        self._per_project[project_id] += 1
        return _Stream(self, feed, run)

    def start(self, feed: _Feed) -> None:
        """Start ``feed``'s reader, unless it runs (a stream is about to wait for news)."""
        if feed.task is None:
            feed.task = asyncio.create_task(self._follow(feed), name=f"run-feed-{feed.run_id}")

    def release(self, feed: _Feed) -> None:
        """A stream of ``feed`` closed: its slot is free; the feed stops with its last stream."""
        feed.streams -= 1
        self._per_project[feed.project_id] -= 1
        if self._per_project[feed.project_id] <= 0:
            del self._per_project[feed.project_id]
        if feed.streams <= 0:
            if self._feeds.get((feed.project_id, feed.run_id)) is feed:
                del self._feeds[(feed.project_id, feed.run_id)]
            if feed.task is not None:
                feed.task.cancel()
            self._unsubscribe(feed)

    def _unsubscribe(self, feed: _Feed) -> None:
        if feed.queue is not None and self._hub is not None:
            self._hub.unsubscribe(feed.run_id, feed.queue)
            feed.queue = None

    async def _follow(self, feed: _Feed) -> None:
        queue = feed.queue = self._hub.subscribe(feed.run_id) if self._hub is not None else None
        try:
            while True:
                pushed: list[RunStatusChanged | None] = []
                if queue is None:
                    await asyncio.sleep(self._tick_s)
                else:
                    queued = feed.latest is not None and feed.latest.status == RunStatus.queued
                    timeout = self._queued_tick_s if queued else self._tick_s
                    with suppress(TimeoutError):
                        pushed.append(await asyncio.wait_for(queue.get(), timeout=timeout))
                    while not queue.empty():
                        pushed.append(queue.get_nowait())
                    if None in pushed:  # the hub closed: local mode is shutting down
                        feed.closed = True
                        return
                current = await _read(self._read, feed.project_id, feed.run_id)
                feed.pushed += [event for event in pushed if event is not None]
                if current is not None:
                    feed.latest, feed.reads = current, feed.reads + 1
                feed.publish()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: end the streams (their clients reconnect) rather than leave them hanging
            logger.exception("a run's event feed failed", run_id=feed.run_id, error=repr(exc))
            feed.closed = True
        finally:
            self._unsubscribe(feed)
            feed.publish()

    @property
    def open_streams(self) -> int:
        return sum(self._per_project.values())

    @property
    def feed_count(self) -> int:
        """Runs followed now (one reader each)."""
        return len(self._feeds)
