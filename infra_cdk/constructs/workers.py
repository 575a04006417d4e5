"""The queue-fed functions besides the runner: the planner (plan requests; Bedrock), the events function
(suite-run aggregation), the notifier (webhook and Slack deliveries) and the dead-letter consumer (a run whose
message used up its deliveries ends as ``error``). Each is an SQS event source with partial batch responses:
only the records that failed come back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra_cdk.config import StackConfig
from infra_cdk.constructs.functions import python_function


@dataclass(frozen=True)
class Worker:
    """One queue-fed function: its deployable (``infra_cdk/bundling.py``), its timeout, its batch size."""

    deployable: str
    description: str
    timeout: Duration
    batch_size: int = 10
    memory_mb: int = 512


PLANNER = Worker("planner", "autotest's planner: plain English to steps (Bedrock)", Duration.minutes(5), 5, 1024)
EVENTS = Worker("events", "autotest's events: suite-run aggregation", Duration.seconds(60))
NOTIFICATIONS = Worker("notifications", "autotest's notifier: webhook and Slack deliveries", Duration.seconds(120))
DEAD_LETTERS = Worker("deadletters", "autotest's dead letters: runs out of deliveries", Duration.seconds(60))


class QueueWorker(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        worker: Worker,
        queues: Sequence[sqs.IQueue],
        config: StackConfig,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            deployable=worker.deployable,
            description=worker.description,
            environment=environment,
            timeout=worker.timeout,
            memory_mb=worker.memory_mb,
            log_days=config.log_retention_days,
            retain_logs=config.retain_data,
        )
        for queue in queues:
            self.function.add_event_source(
                sources.SqsEventSource(queue, batch_size=worker.batch_size, report_batch_item_failures=True)
            )
