"""SQS queues, each with a dead-letter queue for poison messages: the run queue (RunQueue port), the
planner's queue (PlanQueue port) and the notifier's (NotificationQueue port)."""

from __future__ import annotations

import threading
from typing import Any

from shared.aws.errors import translate
from shared.models.messages import PlanMessage, ReceivedMessage, RunMessage
from shared.models.notifications import DeliveryMessage


class SqsRunQueue:
    """The run queue. With ``long_queue_name`` (a deployment with Fargate workers beside the container Lambda),
    a message for the long lane (``RunMessage.lane``) is sent there instead; receiving, deleting and redriving
    are the run queue's (each Fargate worker is configured with the long queue as its run queue)."""

    def __init__(self, client: Any, queue_name: str, dlq_name: str, *, long_queue_name: str | None = None) -> None:
        self._sqs = client
        self._names = {"queue": queue_name, "dlq": dlq_name}
        if long_queue_name:
            self._names["long"] = long_queue_name
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _url(self, which: str = "queue") -> str:
        with self._lock:
            if which not in self._urls:
                with translate(f"find queue {self._names[which]}"):
                    self._urls[which] = self._sqs.get_queue_url(QueueName=self._names[which])["QueueUrl"]
            return self._urls[which]

    def send(self, message: RunMessage, *, delay_s: int = 0) -> None:
        which = "long" if message.lane == "long" and "long" in self._names else "queue"
        with translate("enqueue run"):
            self._sqs.send_message(
                QueueUrl=self._url(which),
                MessageBody=message.model_dump_json(),
                DelaySeconds=min(max(delay_s, 0), 900),
                MessageAttributes={
                    "correlation_id": {"DataType": "String", "StringValue": message.correlation_id or "-"}
                },
            )

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        return self._receive("queue", max_messages, wait_s, visibility_timeout_s)

    def _receive(
        self, which: str, max_messages: int, wait_s: int, visibility_timeout_s: int | None
    ) -> list[ReceivedMessage]:
        params: dict[str, Any] = {
            "QueueUrl": self._url(which),
            "MaxNumberOfMessages": min(max(max_messages, 1), 10),
            "WaitTimeSeconds": min(max(wait_s, 0), 20),
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
        }
        if visibility_timeout_s is not None:
            params["VisibilityTimeout"] = visibility_timeout_s
        with translate("receive runs"):
            response = self._sqs.receive_message(**params)
        return [
            ReceivedMessage(
                body=m["Body"],
                receipt=m["ReceiptHandle"],
                message_id=m["MessageId"],
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            )
            for m in response.get("Messages", [])
        ]

    def delete(self, receipt: str) -> None:
        with translate("delete run message"):
            self._sqs.delete_message(QueueUrl=self._url(), ReceiptHandle=receipt)

    def extend(self, receipt: str, visibility_timeout_s: int) -> None:
        with translate("extend run message visibility"):
            self._sqs.change_message_visibility(
                QueueUrl=self._url(), ReceiptHandle=receipt, VisibilityTimeout=visibility_timeout_s
            )

    def redrive_dead_letters(self, max_messages: int = 100) -> int:
        """Move messages from the DLQ back to the run queue (after fixing what poisoned them)."""
        moved = 0
        while moved < max_messages:
            batch = self._receive("dlq", min(10, max_messages - moved), 0, 30)
            if not batch:
                break
            for message in batch:
                with translate("redrive run message"):
                    self._sqs.send_message(QueueUrl=self._url(), MessageBody=message.body)
                    self._sqs.delete_message(QueueUrl=self._url("dlq"), ReceiptHandle=message.receipt)
                moved += 1
        return moved

    def receive_dead_letters(self, *, max_messages: int = 10, visibility_timeout_s: int = 60) -> list[ReceivedMessage]:
        return self._receive("dlq", max_messages, 0, visibility_timeout_s)

    def delete_dead_letter(self, receipt: str) -> None:
        with translate("delete dead letter"):
            self._sqs.delete_message(QueueUrl=self._url("dlq"), ReceiptHandle=receipt)


class SqsPlanQueue:
    """The planner's queue (PlanQueue port): plan requests for proposals and for goal-only runs."""

    def __init__(self, client: Any, queue_name: str, dlq_name: str) -> None:
        # the run queue's plumbing (URLs, receive, delete), with plan messages instead of run messages
        self._queue = SqsRunQueue(client, queue_name, dlq_name)
        self._sqs = client

    def send(self, message: PlanMessage) -> None:
        with translate("enqueue plan request"):
            self._sqs.send_message(
                QueueUrl=self._queue._url(),
                MessageBody=message.model_dump_json(),
                MessageAttributes={
                    "correlation_id": {"DataType": "String", "StringValue": message.correlation_id or "-"}
                },
            )

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        return self._queue.receive(max_messages=max_messages, wait_s=wait_s, visibility_timeout_s=visibility_timeout_s)

    def delete(self, receipt: str) -> None:
        self._queue.delete(receipt)


class SqsEventQueue:
    """A queue an EventBridge rule fills (EventQueue port): each message's body is an EventBridge envelope."""

    def __init__(self, client: Any, queue_name: str, dlq_name: str) -> None:
        self._queue = SqsRunQueue(client, queue_name, dlq_name)

    def receive(
        self, *, max_messages: int = 10, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        return self._queue.receive(max_messages=max_messages, wait_s=wait_s, visibility_timeout_s=visibility_timeout_s)

    def delete(self, receipt: str) -> None:
        self._queue.delete(receipt)


class SqsNotificationQueue:
    """The notifier's queue (NotificationQueue port): EventBridge's rule delivers run and suite-run events to it,
    the notifier its delivery attempts (a retry with ``DelaySeconds``)."""

    def __init__(self, client: Any, queue_name: str, dlq_name: str) -> None:
        self._queue = SqsRunQueue(client, queue_name, dlq_name)
        self._sqs = client

    def send(self, message: DeliveryMessage, *, delay_s: int = 0) -> None:
        with translate("enqueue notification"):
            self._sqs.send_message(
                QueueUrl=self._queue._url(),
                MessageBody=message.model_dump_json(),
                DelaySeconds=min(max(delay_s, 0), 900),
            )

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        return self._queue.receive(max_messages=max_messages, wait_s=wait_s, visibility_timeout_s=visibility_timeout_s)

    def delete(self, receipt: str) -> None:
        self._queue.delete(receipt)
