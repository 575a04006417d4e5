from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from shared.aws.clients import client
from shared.settings import Settings


class EventTap:
    """An EventBridge rule on the bus that copies every autotest event to an SQS queue we can read."""

    def __init__(self, settings: Settings) -> None:
        self._sqs = client("sqs", settings.aws_region, settings.aws_endpoint_url)
        events = client("events", settings.aws_region, settings.aws_endpoint_url)
        name = f"tap-{uuid.uuid4().hex[:8]}"
        self._url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name=name, EventBusName=settings.event_bus_name, EventPattern=json.dumps({"source": ["autotest"]})
        )
        events.put_targets(Rule=name, EventBusName=settings.event_bus_name, Targets=[{"Id": "tap", "Arn": arn}])

    def drain(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return out
            for m in messages:
                out.append(json.loads(m["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def event_tap(aws_settings: Settings) -> EventTap:
    return EventTap(aws_settings)
