"""Create the tables, queues, bucket and bus with the names the CDK stack uses (local mode, tests).

Idempotent: what exists is left as it is.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.clients import ClientFactory, endpoint_clients
from shared.aws.errors import error_code
from shared.aws.eventbridge import route_to_queue
from shared.models.events import RunStatusChanged, SuiteRunCompleted
from shared.resources import GSI_NAMES, MAX_RECEIVE_COUNT, NOTIFY_RULE_SUFFIX, TTL_ATTRIBUTE
from shared.settings import Settings

_EXISTS = {
    "ResourceInUseException",
    "BucketAlreadyOwnedByYou",
    "BucketAlreadyExists",
    "ResourceAlreadyExistsException",
}


def provision(settings: Settings, *, clients: ClientFactory | None = None) -> None:
    make = _Maker(settings, clients or endpoint_clients(settings.aws_region, settings.aws_endpoint_url))
    make.table()
    make.queues()
    make.bucket()
    make.bus()
    make.event_rules()


class _Maker:
    def __init__(self, settings: Settings, clients: ClientFactory) -> None:
        self.s = settings
        self._clients = clients

    def _client(self, service: str) -> Any:
        return self._clients(service)

    def table(self) -> None:
        attrs = [{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}]
        gsis = []
        for name in GSI_NAMES:
            attrs += [
                {"AttributeName": f"{name}pk", "AttributeType": "S"},
                {"AttributeName": f"{name}sk", "AttributeType": "S"},
            ]
            gsis.append(
                {
                    "IndexName": name,
                    "KeySchema": [
                        {"AttributeName": f"{name}pk", "KeyType": "HASH"},
                        {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            )
        _ignore_exists(
            lambda: self._client("dynamodb").create_table(
                TableName=self.s.table_name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=attrs,
                KeySchema=[
                    {"AttributeName": "PK", "KeyType": "HASH"},
                    {"AttributeName": "SK", "KeyType": "RANGE"},
                ],
                GlobalSecondaryIndexes=gsis,
            )
        )
        self.ttl()

    def ttl(self) -> None:
        """Items with ``expires_at`` in the past are deleted by DynamoDB (eventually; readers skip them)."""
        db = self._client("dynamodb")
        described = db.describe_time_to_live(TableName=self.s.table_name)["TimeToLiveDescription"]
        if described.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            return
        db.update_time_to_live(
            TableName=self.s.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )

    def queues(self) -> None:
        self._queue(self.s.run_queue_name, self.s.run_dlq_name)
        for name in (self.s.run_queue_high_name, self.s.run_queue_low_name):  # priorities share the DLQ
            if name:
                self._queue(name, self.s.run_dlq_name)
        if self.s.long_run_queue_name:
            self._queue(self.s.long_run_queue_name, f"{self.s.long_run_queue_name}-dlq")
            for name in (self.s.long_run_queue_high_name, self.s.long_run_queue_low_name):
                if name:
                    self._queue(name, f"{self.s.long_run_queue_name}-dlq")
        self._queue(self.s.plan_queue_name, self.s.plan_dlq_name)
        events_queue, events_dlq, _ = self.s.events_queue()
        self._queue(events_queue, events_dlq)
        self._queue(*self.s.notify_queue())

    def event_rules(self) -> None:
        """EventBridge rules that feed the queues of the event consumers (the CDK stack makes the same): run
        status changes to the events queue (suite aggregation); run status changes and suite-run ends to the
        notifier's queue."""
        queue, _, rule = self.s.events_queue()
        self.rule_to_queue(rule, queue, [RunStatusChanged.detail_type])
        notify_queue, _ = self.s.notify_queue()
        self.rule_to_queue(
            notify_queue + NOTIFY_RULE_SUFFIX,
            notify_queue,
            [RunStatusChanged.detail_type, SuiteRunCompleted.detail_type],
        )

    def rule_to_queue(self, rule: str, queue: str, detail_types: list[str]) -> None:
        """A rule on the bus matching ``detail_types`` from autotest, targeting ``queue`` (idempotent)."""
        sqs = self._client("sqs")
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        route_to_queue(
            self._client("events"),
            sqs,
            bus=self.s.event_bus_name,
            rule=rule,
            queue_url=url,
            detail_types=detail_types,
            target_id=queue,
        )

    def _queue(self, name: str, dlq_name: str) -> None:
        sqs = self._client("sqs")
        dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)})[
            "QueueUrl"
        ]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(self.s.visibility_timeout_s),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
            },
        )

    def bucket(self) -> None:
        s3 = self._client("s3")
        params: dict[str, Any] = {"Bucket": self.s.artifact_bucket}
        if self.s.aws_region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.s.aws_region}
        _ignore_exists(lambda: s3.create_bucket(**params))

    def bus(self) -> None:
        _ignore_exists(lambda: self._client("events").create_event_bus(Name=self.s.event_bus_name))


def _ignore_exists(call: Any) -> None:
    try:
        call()
    except ClientError as exc:
        if error_code(exc) not in _EXISTS:
            raise
