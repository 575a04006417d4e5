"""Scheduling, monitoring and teardown: what EventBridge Scheduler assumes, what pages a person, and what a
deleted stack leaves behind (nothing, unless retain_data)."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from infra_cdk.stack import AutotestStack
from tests.infra.conftest import Synth
from tests.infra.helpers import actions, logical_id, resource


def test_schedules_assume_a_role_that_may_only_invoke_the_scheduler_and_dead_letter(
    stack: AutotestStack, template: Template
) -> None:
    role = resource(template, stack.scheduling.role)["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    assert actions(template, stack.scheduling.role) == {
        "lambda:InvokeFunction",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }


def test_alarms_cover_every_dead_letter_queue_function_and_queue_age(stack: AutotestStack, template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    by_metric: dict[str, int] = {}
    for alarm in alarms.values():
        name = alarm["Properties"].get("MetricName")
        if name:
            by_metric[name] = by_metric.get(name, 0) + 1
        if "scaling alarm" not in alarm["Properties"].get("AlarmDescription", ""):
            assert alarm["Properties"]["AlarmActions"] == [{"Ref": logical_id(stack.monitoring.topic)}]
    assert by_metric["ApproximateNumberOfMessagesVisible"] == len(stack.messaging.dead_letter_queues)
    assert by_metric["ApproximateAgeOfOldestMessage"] == len(stack.messaging.queues)
    assert by_metric["Errors"] == by_metric["Throttles"] == 8  # seven functions and the runner
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {"source": ["aws.ecs"], "detail": Match.object_like({"lastStatus": ["STOPPED"]})}
            ),
            "Targets": [Match.object_like({"Arn": {"Ref": logical_id(stack.monitoring.topic)}})],
        },
    )
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.resource_count_is("AWS::SNS::Subscription", 0)


def test_an_alarm_email_subscribes_to_the_topic(synth: Synth) -> None:
    _, template = synth(alarm_email="ops@example.com")
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})


def test_teardown_runs_on_delete_with_the_deployments_prefixes(stack: AutotestStack, template: Template) -> None:
    props = resource(template, stack.teardown.resource)["Properties"]
    assert props["Bucket"] == {"Ref": logical_id(stack.storage.bucket)}
    assert props["ScheduleGroupPrefix"] == "autotest.dev."
    assert props["SecretsPrefix"] == "autotest/dev/"
    assert props["Retain"] == "false"
    assert props["ServiceToken"] == {"Fn::GetAtt": [logical_id(stack.teardown.function), "Arn"]}


def test_nothing_is_retained_by_default_and_everything_with_retain_data(template: Template, synth: Synth) -> None:
    kinds = ("AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::SecretsManager::Secret")
    for kind in kinds:
        for name, found in template.find_resources(kind).items():
            assert found.get("DeletionPolicy", "Delete") == "Delete", name
    # no CDK helper function whose log group would outlive the stack
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    template.resource_count_is("Custom::VpcRestrictDefaultSG", 0)
    _, kept = synth(retain_data=True)
    for kind in ("AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket"):
        for found in kept.find_resources(kind).values():
            assert found["DeletionPolicy"] == "Retain"
    [teardown] = kept.find_resources("Custom::AutotestTeardown").values()
    assert teardown["Properties"]["Retain"] == "true"


def test_everything_that_writes_is_deleted_before_the_teardown_runs(stack: AutotestStack, template: Template) -> None:
    teardown = logical_id(stack.teardown.resource)
    resources = template.to_json()["Resources"]
    writers = [stack.api.function, stack.planner.function, stack.runner.function, stack.runner.service]
    for writer in writers:
        assert writer is not None
        assert teardown in resources[logical_id(writer)].get("DependsOn", []), writer.node.path
    # and it asks the stack whether it is being deleted before removing anything
    assert "cloudformation:DescribeStacks" in actions(template, stack.teardown.function.role)


def test_the_container_insights_log_group_is_the_stacks(stack: AutotestStack, template: Template) -> None:
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": Match.object_like(
                {"LogGroupName": "/aws/ecs/containerinsights/autotest-dev-runners/performance"}
            ),
            "DeletionPolicy": "Delete",
        },
    )
    assert stack.runner.cluster is not None
    cluster = resource(template, stack.runner.cluster)
    assert cluster["Properties"]["ClusterName"] == "autotest-dev-runners"
    assert logical_id(stack.runner.insights_logs) in cluster["DependsOn"]


def test_retain_data_keeps_the_bootstrap_key_too(synth: Synth) -> None:
    stack, kept = synth(retain_data=True)
    assert resource(kept, stack.api.bootstrap_key)["DeletionPolicy"] == "Retain"
