"""SQS queues, each with a dead-letter queue for poison messages: the run queues (RunQueue port), the
planner's queue (PlanQueue port) and the notifier's (NotificationQueue port).

The ordered receive over the run queues of each priority is hand-written: SQS has no priorities and boto3 no
receive over several queues, and a task framework's SQS transport would bring its own message format and worker
loop in place of the runner's (heartbeats extending visibility, conditional takes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from shared.aws.errors import translate
from shared.models.messages import PlanMessage, ReceivedMessage, RunMessage
from shared.models.notifications import DeliveryMessage
from shared.models.priority import PRIORITIES, Priority

#: the longest a worker that found every run queue empty waits before it asks them all again (seconds): the
#: longest a message that became visible without a send it could hear (a retry's backoff over, a crashed
#: worker's message back) waits for an idle worker
IDLE_ROUND_S = 1.0
#: SQS: a receive that waits (a long poll) asks every server of the queue; one that does not (a short poll) asks
#: some, and may miss the one message a queue holds. Where the queues are SQS, each queue of a round is asked
#: with this wait (it returns at once when the queue has messages), so that high is not missed for low.
ROUND_WAIT_S = 1


class SqsRunQueue:
    """The run queues: one per priority (``priority_queues``: ``high`` and ``low``; ``queue_name`` is ``normal``,
    the run queue as it always was), sharing one dead-letter queue. A priority without a queue of its own
    (a deployment from before priorities) uses the normal one. With ``long_queue_name`` (and
    ``long_priority_queues``: a deployment with Fargate workers beside the container Lambda), a message for the
    long lane (``RunMessage.lane``) is sent to the long queue of its priority instead; receiving, deleting and
    redriving are the run queues' (each Fargate worker is configured with the long queues as its run queues).

    ``receive`` takes high before normal before low (``docs/architecture.md``: priority): it asks the queues in
    that order, each for what the ones before left of ``max_messages``, and when all were empty waits for a
    message and asks again, until ``wait_s`` is up. ``in_process``: the senders share this adapter and the queues
    answer exactly (local mode: moto in this process), so an idle ``receive`` is woken by a ``send`` at once and
    asks each queue without waiting; otherwise (SQS) each queue is asked with a 1 s long poll
    (``ROUND_WAIT_S``)."""

    def __init__(
        self,
        client: Any,
        queue_name: str,
        dlq_name: str,
        *,
        long_queue_name: str | None = None,
        priority_queues: Mapping[Priority, str | None] | None = None,
        long_priority_queues: Mapping[Priority, str | None] | None = None,
        in_process: bool = False,
    ) -> None:
        self._sqs = client
        self._names = {"queue": queue_name, "dlq": dlq_name}
        for priority, name in (priority_queues or {}).items():
            if name and priority != "normal":
                self._names[f"queue:{priority}"] = name
        if long_queue_name:
            self._names["long"] = long_queue_name
            for priority, name in (long_priority_queues or {}).items():
                if name and priority != "normal":
                    self._names[f"long:{priority}"] = name
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()
        self._in_process = in_process
        #: sends through this adapter so far, and the condition an idle ``receive`` waits on for the next one
        self._sends = 0
        self._sent = threading.Condition()

    def _url(self, which: str = "queue") -> str:
        with self._lock:
            if which not in self._urls:
                with translate(f"find queue {self._names[which]}"):
                    self._urls[which] = self._sqs.get_queue_url(QueueName=self._names[which])["QueueUrl"]
            return self._urls[which]

    def _which(self, lane: str, priority: Priority) -> str:
        """The queue of ``priority`` in ``lane`` (``queue`` or ``long``): its own, else the lane's normal one."""
        key = lane if priority == "normal" else f"{lane}:{priority}"
        return key if key in self._names else lane

    def _queue_of(self, message: RunMessage) -> str:
        lane = "long" if message.lane == "long" and "long" in self._names else "queue"
        return self._which(lane, message.priority)

    def _order(self) -> list[str]:
        """The run queues ``receive`` asks, high first; one queue once (priorities that share the normal one)."""
        order: list[str] = []
        for priority in PRIORITIES:
            which = self._which("queue", priority)
            if which not in order:
                order.append(which)
        return order

    def send(self, message: RunMessage, *, delay_s: int = 0) -> None:
        with translate("enqueue run"):
            self._sqs.send_message(
                QueueUrl=self._url(self._queue_of(message)),
                MessageBody=message.model_dump_json(),
                DelaySeconds=min(max(delay_s, 0), 900),
                MessageAttributes={
                    "correlation_id": {"DataType": "String", "StringValue": message.correlation_id or "-"}
                },
            )
        with self._sent:
            self._sends += 1
            self._sent.notify_all()

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        order = self._order()
        if len(order) == 1:  # one run queue: a plain long poll
            return self._receive(order[0], max_messages, wait_s, visibility_timeout_s)
        wanted = min(max(max_messages, 1), 10)
        deadline = time.monotonic() + max(wait_s, 0)
        while True:
            with self._sent:
                seen = self._sends
            round_wait = 0 if self._in_process or wait_s <= 0 else ROUND_WAIT_S
            got: list[ReceivedMessage] = []
            for which in order:
                # once one queue gave some, the rest only fill the batch: asked without waiting
                got += self._receive(which, wanted - len(got), 0 if got else round_wait, visibility_timeout_s)
                if len(got) >= wanted:
                    break
            left = deadline - time.monotonic()
            if got or left <= 0:
                return got
            if self._in_process:  # woken by the next send, or after a round's time to look again anyway
                self._wait_for_send(seen, min(left, IDLE_ROUND_S))

    def _wait_for_send(self, seen: int, timeout_s: float) -> None:
        """Until a send after the ``seen``-th (through this adapter), or ``timeout_s``."""
        with self._sent:
            self._sent.wait_for(lambda: self._sends != seen, timeout=timeout_s)

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

    def delete(self, receipt: str, *, priority: Priority = "normal") -> None:
        """Delete a received message; ``priority``: the message's (the run queue it was received from)."""
        with translate("delete run message"):
            self._sqs.delete_message(QueueUrl=self._url(self._which("queue", priority)), ReceiptHandle=receipt)

    def extend(self, receipt: str, visibility_timeout_s: int, *, priority: Priority = "normal") -> None:
        with translate("extend run message visibility"):
            self._sqs.change_message_visibility(
                QueueUrl=self._url(self._which("queue", priority)),
                ReceiptHandle=receipt,
                VisibilityTimeout=visibility_timeout_s,
            )

    def redrive_dead_letters(self, max_messages: int = 100) -> int:
        """Move messages from the DLQ back to the run queue of their lane and priority (after fixing what poisoned
        them); one that is not a run message goes to the normal one."""
        moved = 0
        while moved < max_messages:
            batch = self._receive("dlq", min(10, max_messages - moved), 0, 30)
            if not batch:
                break
            for message in batch:
                try:
                    which = self._queue_of(RunMessage.model_validate_json(message.body))
                except ValidationError:
                    which = "queue"
                with translate("redrive run message"):
                    self._sqs.send_message(QueueUrl=self._url(which), MessageBody=message.body)
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
