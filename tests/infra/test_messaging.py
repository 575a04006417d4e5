"""Messaging: every queue redrives to its dead-letter queue, hides a message six times longer than its consumer
may take, and the bus's rules feed the event consumers' queues with the detail types local mode uses."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from infra_cdk.constructs.messaging import VISIBILITY_FACTOR
from infra_cdk.stack import AutotestStack
from shared.models.events import RunStatusChanged, SuiteRunCompleted
from shared.resources import EVENT_SOURCE, MAX_RECEIVE_COUNT
from tests.infra.conftest import Synth
from tests.infra.helpers import logical_id, resource


def _queue_id(arn: Any) -> str:
    return str(arn["Fn::GetAtt"][0])


def test_every_queue_redrives_to_its_own_dead_letter_queue(stack: AutotestStack, template: Template) -> None:
    """(The run queues of one lane, one per priority, share the lane's.)"""
    for name, queue in stack.messaging.queues.items():
        props = resource(template, queue)["Properties"]
        dlq = stack.messaging.redrives_to[name]
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [logical_id(dlq), "Arn"]},
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        }, name
        assert props["SqsManagedSseEnabled"] is True, name
        assert resource(template, dlq)["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600, name


def test_each_consumers_queue_hides_a_message_six_times_its_timeout(template: Template) -> None:
    """Every Lambda event source's queue: visibility timeout >= 6x the function's timeout."""
    resources = template.to_json()["Resources"]
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping")
    assert len(mappings) >= 6  # runner, planner, events, notifications, dead letters (2 queues)
    for mapping in mappings.values():
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]  # partial batch responses
        function = resources[props["FunctionName"]["Ref"]]["Properties"]
        queue = resources[_queue_id(props["EventSourceArn"])]["Properties"]
        assert queue["VisibilityTimeout"] >= VISIBILITY_FACTOR * function["Timeout"], props


def test_every_queue_takes_only_tls(template: Template) -> None:
    policies = template.find_resources("AWS::SQS::QueuePolicy")
    queues = template.find_resources("AWS::SQS::Queue")
    covered = {q["Ref"] for p in policies.values() for q in p["Properties"]["Queues"]}
    assert covered == set(queues)
    for policy in policies.values():
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bus_has_an_archive_and_the_rules_local_mode_makes(stack: AutotestStack, template: Template) -> None:
    template.has_resource_properties("AWS::Events::EventBus", {"Name": f"autotest-{stack.config.stage}"})
    template.has_resource_properties(
        "AWS::Events::Archive",
        {"EventPattern": {"source": [EVENT_SOURCE]}, "RetentionDays": stack.config.retention_days},
    )
    expected = {
        logical_id(stack.messaging.events): [RunStatusChanged.detail_type],
        logical_id(stack.messaging.notifications): [RunStatusChanged.detail_type, SuiteRunCompleted.detail_type],
    }
    found = {}
    for rule in template.find_resources("AWS::Events::Rule").values():
        props = rule["Properties"]
        if props.get("EventBusName") is None:
            continue  # the default bus's rule (runner task failures)
        [target] = props["Targets"]
        found[_queue_id(target["Arn"])] = props["EventPattern"]["detail-type"]
        assert props["EventPattern"]["source"] == [EVENT_SOURCE]
    assert found == expected


def test_the_long_run_queue_exists_only_beside_a_lambda_runner(synth: Synth) -> None:
    both, _ = synth()
    assert both.messaging.long_runs is not None
    for mode in ("lambda", "fargate"):
        stack, template = synth(runner_mode=mode)
        assert stack.messaging.long_runs is None
        # runs (+ high, low), plans, events, notifications (+DLQs), schedules DLQ
        template.resource_count_is("AWS::SQS::Queue", 11)
    _, template = synth()
    template.has_resource_properties("AWS::SQS::Queue", Match.object_like({"VisibilityTimeout": 6 * 60}))
