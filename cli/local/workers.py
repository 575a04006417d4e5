"""The background workers local mode runs next to the API. Adding one is one line in ``WORKERS``.

A worker is built from the :class:`LocalContext` and runs until its ``stop`` event is set:
it finishes (or returns to the queue) what it holds, then returns. A worker that is cancelled
(the second Ctrl-C) must leave no run behind it that a restart cannot pick up again.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.errors import DomainError
from shared.models.messages import ReceivedMessage
from shared.observability import logger
from shared.services.container import Services
from shared.settings import Settings


@dataclass(frozen=True)
class LocalContext:
    settings: Settings
    services: Services
    data_dir: Path


class Worker(Protocol):
    async def run(self, stop: asyncio.Event) -> None: ...


WorkerFactory = Callable[[LocalContext], Worker]


class QueueWorker(ABC):
    """What an SQS event source does for a Lambda, for local mode: long-poll a queue, hand each message to
    :meth:`handle`, delete it once handled; one whose handling raised comes back after its visibility timeout
    (and goes to its dead-letter queue after its last delivery). Subclasses say which queue and what to do."""

    #: what a message is, for the logs
    what = "message"
    max_messages = 10
    visibility_timeout_s = 60

    def __init__(self, ctx: LocalContext, *, wait_s: int = 1) -> None:
        self._services = ctx.services
        self._wait_s = wait_s

    @abstractmethod
    def queue(self) -> ConsumedQueue | None:
        """The queue to poll (None: this deployment has none, nothing to do)."""

    @abstractmethod
    def handle(self, received: ReceivedMessage) -> None:
        """Handle one message; raise to have it come back."""

    def poll(self) -> int:
        """Receive and handle one batch; returns how many messages were settled (deleted)."""
        queue = self.queue()
        if queue is None:
            return 0
        settled = 0
        received_batch = queue.receive(
            max_messages=self.max_messages, wait_s=self._wait_s, visibility_timeout_s=self.visibility_timeout_s
        )
        for received in received_batch:
            try:
                self.handle(received)
            except Exception as exc:  # it comes back after its visibility timeout
                logger.warning(f"{self.what} failed; it will be retried", error=f"{type(exc).__name__}: {exc}")
                continue
            queue.delete(received.receipt)
            settled += 1
        return settled

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.poll)
            except DomainError as exc:
                logger.warning(f"polling for a {self.what} failed; trying again", error=exc.message)
                await asyncio.sleep(1)


class ConsumedQueue(Protocol):
    def receive(
        self, *, max_messages: int = 10, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]: ...

    def delete(self, receipt: str) -> None: ...


def runner_worker(ctx: LocalContext) -> Worker:
    """The browser / API test runner, ``settings.runner_concurrency`` runs at a time."""
    from cli.local.runner import LocalRunner  # imports Playwright: only when local mode starts

    return LocalRunner(ctx)


def dead_letter_worker(ctx: LocalContext) -> Worker:
    """Ends the runs whose messages went to the dead-letter queue (the DLQ's Lambda in AWS)."""
    from cli.local.deadletters import DeadLetterWorker

    return DeadLetterWorker(ctx)


def planner_worker(ctx: LocalContext) -> Worker:
    """Plans proposals and goal-only runs from the planner's queue (the planner Lambda in AWS)."""
    from cli.local.planner import PlannerWorker

    return PlannerWorker(ctx)


def events_worker(ctx: LocalContext) -> Worker:
    """Aggregates child runs into their suite runs from the events queue (the events Lambda in AWS)."""
    from cli.local.events import EventsWorker

    return EventsWorker(ctx)


def scheduler_worker(ctx: LocalContext) -> Worker:
    """Fires the schedules that are due (EventBridge Scheduler in AWS)."""
    from cli.local.scheduler import SchedulerLoop

    return SchedulerLoop(ctx)


def notifier_worker(ctx: LocalContext) -> Worker:
    """Sends notifications (webhooks, Slack) from the notifier's queue (the notifications Lambda in AWS)."""
    from cli.local.notifier import NotifierWorker

    return NotifierWorker(ctx)


#: name -> factory, started in this order and stopped in reverse
WORKERS: dict[str, WorkerFactory] = {
    "planner": planner_worker,
    "runner": runner_worker,
    "deadletters": dead_letter_worker,
    "events": events_worker,
    "scheduler": scheduler_worker,
    "notifier": notifier_worker,
}
