"""Local mode's events worker: what the events queue's SQS event source does in AWS. Polls the queue the
EventBridge rule on ``Run Status Changed`` fills and hands each event to ``functions/events`` (suite-run
aggregation)."""

from __future__ import annotations

import asyncio

from cli.local.workers import LocalContext
from functions.events.handler import process
from shared.errors import DomainError
from shared.observability import logger

WAIT_S = 1


class EventsWorker:
    def __init__(self, ctx: LocalContext, *, wait_s: int = WAIT_S) -> None:
        self._services = ctx.services
        self._wait_s = wait_s

    def poll(self) -> int:
        """Receive and handle one batch; returns how many events were settled (deleted)."""
        queue = self._services.event_queue
        if queue is None:
            return 0
        settled = 0
        for received in queue.receive(max_messages=10, wait_s=self._wait_s, visibility_timeout_s=30):
            try:
                process(received.body, self._services)
            except Exception as exc:  # it comes back after its visibility timeout
                logger.warning("event handling failed; it will be retried", error=f"{type(exc).__name__}: {exc}")
                continue
            queue.delete(received.receipt)
            settled += 1
        return settled

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.poll)
            except DomainError as exc:
                logger.warning("events poll failed; trying again", error=exc.message)
                await asyncio.sleep(1)
