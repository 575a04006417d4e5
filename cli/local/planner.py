"""Local mode's planner worker: what the planner queue's SQS event source does in AWS. Polls the planner's queue
and hands each plan request to ``functions/planner`` (a proposal to fill, a goal-only run to plan). With the
sentence grammar (the default) proposals and runs are planned inline by the API and this queue stays empty; with
``AUTOTEST_PLANNER=bedrock`` this worker does the planning."""

from __future__ import annotations

import asyncio

from cli.local.workers import LocalContext
from functions.planner.handler import process
from shared.errors import DomainError
from shared.observability import logger

WAIT_S = 2


class PlannerWorker:
    def __init__(self, ctx: LocalContext, *, wait_s: int = WAIT_S) -> None:
        self._services = ctx.services
        self._wait_s = wait_s

    def poll(self) -> int:
        """Receive and handle one batch; returns how many requests were settled (deleted)."""
        queue = self._services.plan_queue
        if queue is None:
            return 0
        settled = 0
        for received in queue.receive(max_messages=5, wait_s=self._wait_s, visibility_timeout_s=120):
            try:
                process(received.body, self._services, receive_count=received.receive_count)
            except Exception as exc:  # it comes back after its visibility timeout
                logger.warning("plan request failed; it will be retried", error=f"{type(exc).__name__}: {exc}")
                continue
            queue.delete(received.receipt)
            settled += 1
        return settled

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.poll)
            except DomainError as exc:
                logger.warning("planner poll failed; trying again", error=exc.message)
                await asyncio.sleep(1)
