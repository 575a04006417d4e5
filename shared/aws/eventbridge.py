"""EventBridge publisher (EventBus port): source ``autotest``, detail-type from the event model."""

from __future__ import annotations

import json
from typing import Any

from shared.aws.errors import translate
from shared.errors import Unavailable
from shared.models.events import Event
from shared.resources import EVENT_SOURCE


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    def publish(self, event: Event) -> None:
        with translate(f"publish {event.detail_type}"):
            response = self._events.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": event.detail_type,
                        "Detail": event.model_dump_json(),
                        "EventBusName": self._bus,
                    }
                ]
            )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise Unavailable(f"publish {event.detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")


def route_to_queue(
    events: Any, sqs: Any, *, bus: str, rule: str, queue_url: str, detail_types: list[str], target_id: str
) -> None:
    """A rule on ``bus`` matching ``detail_types`` from autotest, targeting the SQS queue at ``queue_url``, with
    the queue policy AWS needs for the rule to deliver (moto does not check it). Idempotent: ``put_rule`` and
    ``put_targets`` replace what is there. Provisioning makes the event consumers' rules with it, local mode's
    SSE bridge its own."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arn = events.put_rule(
        Name=rule,
        EventBusName=bus,
        EventPattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": detail_types}),
        State="ENABLED",
    )["RuleArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": target_id, "Arn": arn}])
