"""The EventBridge -> SQS bridge behind local mode's live run events.

An EventBridge rule on the bus matches every ``Run Status Changed`` event and targets an SQS queue;
:meth:`EventBridgeSqsBridge.receive` long-polls that queue and returns the events it holds (and
deletes them: the subscribers are live streams, a missed event is caught up by reading the run).
moto delivers rule targets of type SQS, so this is the same path as in AWS.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from shared.aws.errors import translate
from shared.aws.eventbridge import route_to_queue
from shared.models.events import RunStatusChanged
from shared.observability import logger


class EventBridgeSqsBridge:
    def __init__(self, events_client: Any, sqs_client: Any, *, bus_name: str, queue_name: str) -> None:
        self._events = events_client
        self._sqs = sqs_client
        self._bus = bus_name
        self._queue_name = queue_name
        self._rule = f"{queue_name}-rule"
        self._queue_url: str | None = None

    def ensure(self) -> None:
        """Create the queue, the rule and its target (idempotent)."""
        with translate(f"create bridge queue {self._queue_name}"):
            url = self._sqs.create_queue(QueueName=self._queue_name, Attributes={"MessageRetentionPeriod": "300"})[
                "QueueUrl"
            ]
        with translate(f"create bridge rule {self._rule}"):
            route_to_queue(
                self._events,
                self._sqs,
                bus=self._bus,
                rule=self._rule,
                queue_url=url,
                detail_types=[RunStatusChanged.detail_type],
                target_id="sse-bridge",
            )
        self._queue_url = url

    def receive(self, *, wait_s: int = 1) -> list[RunStatusChanged]:
        """Wait up to ``wait_s`` for events; returns (and deletes) what arrived."""
        if self._queue_url is None:
            self.ensure()
        assert self._queue_url is not None
        with translate("receive bridged events"):
            response = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=min(max(wait_s, 0), 20)
            )
        messages = response.get("Messages", [])
        events: list[RunStatusChanged] = []
        for message in messages:
            try:
                envelope = json.loads(message["Body"])
                events.append(RunStatusChanged.model_validate(envelope["detail"]))
            except (ValueError, KeyError, TypeError, ValidationError) as exc:
                logger.warning("dropped a bridged event that is not a run status change", error=str(exc))
        if messages:
            with translate("delete bridged events"):
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
        return events
