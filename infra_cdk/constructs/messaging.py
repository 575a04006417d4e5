"""Messaging: the queues (each with its dead-letter queue and redrive after ``MAX_RECEIVE_COUNT`` deliveries; the
run queues of one lane, one per priority, share the lane's),
the event bus with an archive for replay, and the rules that feed the event consumers' queues.

A queue's visibility timeout is six times its consumer's timeout (AWS's advice for Lambda event sources, so
a message is not delivered again while a slow invocation and its retries still hold it). The rules and their
detail types are the ones local mode's ``provision()`` makes (``shared/aws/provision.py``), from the same
event models.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from shared.models.events import RunStatusChanged, SuiteRunCompleted
from shared.models.priority import Priority
from shared.resources import EVENT_SOURCE, MAX_RECEIVE_COUNT

#: how much longer a queue hides a received message than its consumer may take
VISIBILITY_FACTOR = 6


@dataclass(frozen=True)
class Consumers:
    """How long each queue's consumer may take with one batch."""

    runs: Duration
    long_runs: Duration | None  # the Fargate workers' queue (runner mode ``both``); none: no such queue
    plans: Duration
    events: Duration
    notifications: Duration
    dead_letters: Duration  # the consumer of the runs' dead-letter queues


class Messaging(Construct):
    def __init__(self, scope: Construct, id: str, *, stage: str, consumers: Consumers, archive_days: int) -> None:
        super().__init__(scope, id)
        dlq_visibility = _visibility(consumers.dead_letters)
        self.runs, self.runs_dlq = self._queue("Runs", consumers.runs, dlq_visibility)
        # high and low priority beside the run queue (normal: the queue a deployment had before priorities)
        self.runs_high = self._priority_queue("RunsHigh", consumers.runs, self.runs_dlq)
        self.runs_low = self._priority_queue("RunsLow", consumers.runs, self.runs_dlq)
        self.long_runs: sqs.Queue | None = None
        self.long_runs_dlq: sqs.Queue | None = None
        self.long_runs_high: sqs.Queue | None = None
        self.long_runs_low: sqs.Queue | None = None
        if consumers.long_runs is not None:
            self.long_runs, self.long_runs_dlq = self._queue("LongRuns", consumers.long_runs, dlq_visibility)
            self.long_runs_high = self._priority_queue("LongRunsHigh", consumers.long_runs, self.long_runs_dlq)
            self.long_runs_low = self._priority_queue("LongRunsLow", consumers.long_runs, self.long_runs_dlq)
        self.plans, self.plans_dlq = self._queue("Plans", consumers.plans)
        self.events, self.events_dlq = self._queue("Events", consumers.events)
        self.notifications, self.notifications_dlq = self._queue("Notifications", consumers.notifications)
        #: EventBridge Scheduler's invocations of the scheduler function that failed every retry
        self.schedules_dlq = _encrypted(self, "SchedulesDlq", retention_period=Duration.days(14))

        self.bus = events.EventBus(self, "Bus", event_bus_name=f"autotest-{stage}")
        self.archive = self.bus.archive(
            "Archive",
            description="autotest's events, for replay",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=Duration.days(archive_days),
        )
        self.events_rule = self._rule("RunStatusToEvents", self.events, [RunStatusChanged.detail_type])
        self.notifications_rule = self._rule(
            "ToNotifications", self.notifications, [RunStatusChanged.detail_type, SuiteRunCompleted.detail_type]
        )

    @property
    def run_queues(self) -> dict[Priority, sqs.Queue]:
        """The run queue of each priority (the container Lambda's, or in runner mode ``fargate`` the workers')."""
        return {"high": self.runs_high, "normal": self.runs, "low": self.runs_low}

    @property
    def long_run_queues(self) -> dict[Priority, sqs.Queue] | None:
        """The long lane's queue of each priority (the Fargate workers' in runner mode ``both``), or none."""
        if self.long_runs is None or self.long_runs_high is None or self.long_runs_low is None:
            return None
        return {"high": self.long_runs_high, "normal": self.long_runs, "low": self.long_runs_low}

    @property
    def queues(self) -> dict[str, sqs.Queue]:
        """Every queue that has a dead-letter queue, by name."""
        found = {
            "runs": self.runs,
            "runs_high": self.runs_high,
            "runs_low": self.runs_low,
            "plans": self.plans,
            "events": self.events,
            "notifications": self.notifications,
        }
        if self.long_runs is not None and self.long_runs_high is not None and self.long_runs_low is not None:
            found |= {"long_runs": self.long_runs, "long_runs_high": self.long_runs_high}
            found["long_runs_low"] = self.long_runs_low
        return found

    @property
    def redrives_to(self) -> dict[str, sqs.Queue]:
        """The dead-letter queue of every queue of :attr:`queues`, by the queue's name."""
        shared = {"runs_high": "runs", "runs_low": "runs", "long_runs_high": "long_runs", "long_runs_low": "long_runs"}
        dlqs = self.dead_letter_queues
        return {name: dlqs[shared.get(name, name)] for name in self.queues}

    @property
    def dead_letter_queues(self) -> dict[str, sqs.Queue]:
        found = {
            "runs": self.runs_dlq,
            "plans": self.plans_dlq,
            "events": self.events_dlq,
            "notifications": self.notifications_dlq,
            "schedules": self.schedules_dlq,
        }
        if self.long_runs_dlq is not None:
            found["long_runs"] = self.long_runs_dlq
        return found

    def _queue(
        self, id: str, consumer: Duration, dlq_visibility: Duration | None = None
    ) -> tuple[sqs.Queue, sqs.Queue]:
        dlq = _encrypted(self, f"{id}Dlq", retention_period=Duration.days(14), visibility_timeout=dlq_visibility)
        queue = _encrypted(
            self,
            id,
            visibility_timeout=_visibility(consumer),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=dlq),
        )
        return queue, dlq

    def _priority_queue(self, id: str, consumer: Duration, dlq: sqs.Queue) -> sqs.Queue:
        """A run queue of one priority, redriving to its lane's dead-letter queue."""
        return _encrypted(
            self,
            id,
            visibility_timeout=_visibility(consumer),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=dlq),
        )

    def _rule(self, id: str, queue: sqs.Queue, detail_types: list[str]) -> events.Rule:
        return events.Rule(
            self,
            id,
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=detail_types),
            targets=[targets.SqsQueue(queue)],
        )


def _visibility(consumer: Duration) -> Duration:
    return Duration.seconds(consumer.to_seconds() * VISIBILITY_FACTOR)


def _encrypted(scope: Construct, id: str, **props: object) -> sqs.Queue:
    """SQS-managed encryption (EventBridge can deliver to it, unlike a queue under the AWS-managed KMS key)
    and TLS only."""
    given = {k: v for k, v in props.items() if v is not None}
    return sqs.Queue(scope, id, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, **given)  # type: ignore[arg-type]
