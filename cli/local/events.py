"""Local mode's events worker: what the events queue's SQS event source does in AWS. Polls the queue the
EventBridge rule on ``Run Status Changed`` fills and hands each event to ``functions/events`` (suite-run
aggregation)."""

from __future__ import annotations

from cli.local.workers import ConsumedQueue, LocalContext, QueueWorker
from functions.events.handler import process
from shared.models.messages import ReceivedMessage

WAIT_S = 1


class EventsWorker(QueueWorker):
    what = "event"
    visibility_timeout_s = 30

    def __init__(self, ctx: LocalContext, *, wait_s: int = WAIT_S) -> None:
        super().__init__(ctx, wait_s=wait_s)

    def queue(self) -> ConsumedQueue | None:
        return self._services.event_queue

    def handle(self, received: ReceivedMessage) -> None:
        process(received.body, self._services)
