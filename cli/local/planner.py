"""Local mode's planner worker: what the planner queue's SQS event source does in AWS. Polls the planner's queue
and hands each plan request to ``functions/planner`` (a proposal to fill, a goal-only run to plan). With the
sentence grammar (the default) proposals and runs are planned inline by the API and this queue stays empty; with
``AUTOTEST_PLANNER=bedrock`` this worker does the planning."""

from __future__ import annotations

from cli.local.workers import ConsumedQueue, LocalContext, QueueWorker
from functions.planner.handler import process
from shared.models.messages import ReceivedMessage

WAIT_S = 2


class PlannerWorker(QueueWorker):
    what = "plan request"
    max_messages = 5
    visibility_timeout_s = 120

    def __init__(self, ctx: LocalContext, *, wait_s: int = WAIT_S) -> None:
        super().__init__(ctx, wait_s=wait_s)

    def queue(self) -> ConsumedQueue | None:
        return self._services.plan_queue

    def handle(self, received: ReceivedMessage) -> None:
        process(received.body, self._services, receive_count=received.receive_count)
