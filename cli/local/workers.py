"""The background workers local mode runs next to the API. Adding one is one line in ``WORKERS``.

A worker is built from the :class:`LocalContext` and runs until its ``stop`` event is set:
it finishes (or returns to the queue) what it holds, then returns. A worker that is cancelled
(the second Ctrl-C) must leave no run behind it that a restart cannot pick up again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
