"""Local mode's dead-letter worker: what the DLQ's SQS event source does in AWS. Polls the runs
DLQ and ends each dead letter's run as ``error`` with the reason (``functions/deadletters``)."""

from __future__ import annotations

import asyncio
import contextlib

from cli.local.workers import LocalContext
from functions.deadletters.handler import process
from shared.errors import DomainError
from shared.observability import logger

POLL_S = 5.0


class DeadLetterWorker:
    def __init__(self, ctx: LocalContext, *, poll_s: float = POLL_S) -> None:
        self._services = ctx.services
        self._poll_s = poll_s

    def sweep(self) -> int:
        """Handle what the DLQ holds now; returns how many letters were settled (deleted)."""
        settled = 0
        queue = self._services.queue
        for letter in queue.receive_dead_letters(max_messages=10, visibility_timeout_s=30):
            if process(letter.body, self._services.runs) != "pending":
                queue.delete_dead_letter(letter.receipt)
                settled += 1
        return settled

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.sweep)
            except DomainError as exc:
                logger.warning("dead-letter sweep failed; trying again", error=exc.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._poll_s)
