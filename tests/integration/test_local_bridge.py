"""The EventBridge -> SQS bridge behind local mode's live events, against moto."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.aws.bridge import EventBridgeSqsBridge
from shared.aws.clients import client
from shared.aws.eventbridge import EventBridgePublisher
from shared.models.events import RunStatusChanged
from shared.models.runs import RunStatus, RunSummary
from shared.settings import Settings


def test_run_status_events_published_on_the_bus_come_out_of_the_bridge(aws_settings: Settings) -> None:
    # Given a bridge on the bus
    region, endpoint = aws_settings.aws_region, aws_settings.aws_endpoint_url
    bridge = EventBridgeSqsBridge(
        client("events", region, endpoint),
        client("sqs", region, endpoint),
        bus_name=aws_settings.event_bus_name,
        queue_name=f"{aws_settings.event_bus_name}-sse",
    )
    bridge.ensure()
    bridge.ensure()  # idempotent

    # When the run service's publisher sends a status change
    event = RunStatusChanged(
        project_id="default",
        run_id="run_1",
        test_id=None,
        suite_run_id=None,
        status=RunStatus.passed,
        previous_status=RunStatus.running,
        attempt=1,
        summary=RunSummary(total_steps=2, passed_steps=2),
        at=datetime.now(UTC),
    )
    EventBridgePublisher(client("events", region, endpoint), aws_settings.event_bus_name).publish(event)

    # Then the bridge hands it over once, as the model
    assert bridge.receive(wait_s=1) == [event]
    assert bridge.receive(wait_s=0) == []


def test_moto_compiles_each_path_of_its_event_template_once(aws_settings: Settings) -> None:
    # cli/local/moto_fixes.py: moto renders every event delivered to a target through eight JSONPath expressions,
    # compiled on every call before the fix (about 2 ms each); the delivery itself is the test above
    from jsonpath_ng.ext import parse

    compiled = parse("$.detail-type")
    assert parse("$.detail-type") is compiled
    assert [m.value for m in compiled.find({"detail-type": "Run Status Changed"})] == ["Run Status Changed"]


def test_each_event_comes_out_as_itself_with_the_compiled_paths_kept(aws_settings: Settings) -> None:
    # cli/local/moto_fixes.py keeps moto's compiled input paths: what they find is each event's own
    region, endpoint = aws_settings.aws_region, aws_settings.aws_endpoint_url
    bridge = EventBridgeSqsBridge(
        client("events", region, endpoint),
        client("sqs", region, endpoint),
        bus_name=aws_settings.event_bus_name,
        queue_name=f"{aws_settings.event_bus_name}-sse-2",
    )
    bridge.ensure()
    publisher = EventBridgePublisher(client("events", region, endpoint), aws_settings.event_bus_name)

    # When two different events are published one after the other
    events = [
        RunStatusChanged(
            project_id="default",
            run_id=f"run_{n}",
            test_id=None,
            suite_run_id=None,
            status=status,
            previous_status=RunStatus.queued,
            attempt=1,
            summary=RunSummary(total_steps=n, passed_steps=0),
            at=datetime.now(UTC),
        )
        for n, status in ((1, RunStatus.running), (2, RunStatus.failed))
    ]
    for event in events:
        publisher.publish(event)

    # Then each comes out with its own content
    received = bridge.receive(wait_s=1)
    received += bridge.receive(wait_s=0) if len(received) < 2 else []
    assert sorted(received, key=lambda e: e.run_id) == events
