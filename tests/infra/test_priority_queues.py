"""Priority in the stack: a run queue per priority in each lane, sharing the lane's dead-letter queue; the container
Lambda has an event source on each, their maximum concurrencies splitting ``max_lambda_runners``; the Fargate workers
poll (and may consume) the three of their lane; every function that sends runs may send to all of them and is told
their names."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from infra_cdk.constructs.runner import lambda_concurrency
from infra_cdk.stack import AutotestStack
from tests.infra.conftest import Synth
from tests.infra.helpers import logical_id, resource


def _arn(queue: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(queue), "Arn"]}


def _environment(template: Template, function: Any) -> dict[str, Any]:
    return dict(resource(template, function)["Properties"]["Environment"]["Variables"])


def test_three_run_queues_per_lane_share_the_lanes_dead_letter_queue(stack: AutotestStack, template: Template) -> None:
    m = stack.messaging
    assert m.long_run_queues is not None
    for queues, dlq in ((m.run_queues, m.runs_dlq), (m.long_run_queues, m.long_runs_dlq)):
        assert set(queues) == {"high", "normal", "low"}
        assert len({logical_id(q) for q in queues.values()}) == 3
        for queue in queues.values():
            policy = resource(template, queue)["Properties"]["RedrivePolicy"]
            assert policy["deadLetterTargetArn"] == _arn(dlq)
    assert m.run_queues["normal"] is m.runs  # the queue a deployment had before priorities stays normal's


def test_the_container_lambda_has_an_event_source_per_priority_splitting_its_runners(
    stack: AutotestStack, template: Template
) -> None:
    assert stack.runner.function is not None
    mappings = [
        m["Properties"]
        for m in template.find_resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": logical_id(stack.runner.function)}
    ]
    found = {str(m["EventSourceArn"]): m["ScalingConfig"]["MaximumConcurrency"] for m in mappings}
    expected = lambda_concurrency(stack.config.max_lambda_runners)
    assert found == {str(_arn(q)): expected[p] for p, q in stack.messaging.run_queues.items()}
    assert sum(found.values()) == stack.config.max_lambda_runners  # still the most runners at once


def test_lambda_concurrency_gives_high_the_largest_share_and_each_at_least_two() -> None:
    assert lambda_concurrency(10) == {"high": 5, "normal": 3, "low": 2}
    assert lambda_concurrency(100) == {"high": 50, "normal": 30, "low": 20}
    assert lambda_concurrency(2) == {"high": 2, "normal": 2, "low": 2}  # the event source's least
    for most in range(10, 200):
        split = lambda_concurrency(most)
        assert sum(split.values()) == most and split["high"] >= split["normal"] >= split["low"] >= 2


def test_every_sender_knows_the_priority_queues_and_the_workers_poll_their_lanes_three(
    stack: AutotestStack, template: Template
) -> None:
    m = stack.messaging
    assert m.long_run_queues is not None
    env = _environment(template, stack.api.function)
    names = {
        "AUTOTEST_RUN_QUEUE_HIGH_NAME": m.runs_high,
        "AUTOTEST_RUN_QUEUE_NAME": m.runs,
        "AUTOTEST_RUN_QUEUE_LOW_NAME": m.runs_low,
        "AUTOTEST_LONG_RUN_QUEUE_HIGH_NAME": m.long_run_queues["high"],
        "AUTOTEST_LONG_RUN_QUEUE_NAME": m.long_run_queues["normal"],
        "AUTOTEST_LONG_RUN_QUEUE_LOW_NAME": m.long_run_queues["low"],
    }
    for key, queue in names.items():
        assert env[key] == {"Fn::GetAtt": [logical_id(queue), "QueueName"]}, key
    assert stack.runner.service is not None
    [container] = resource(template, stack.runner.service.task_definition)["Properties"]["ContainerDefinitions"]
    worker = {e["Name"]: e["Value"] for e in container["Environment"]}
    polled = {
        "AUTOTEST_RUN_QUEUE_HIGH_NAME": m.long_run_queues["high"],
        "AUTOTEST_RUN_QUEUE_NAME": m.long_run_queues["normal"],
        "AUTOTEST_RUN_QUEUE_LOW_NAME": m.long_run_queues["low"],
    }
    for key, queue in polled.items():
        assert worker[key] == {"Fn::GetAtt": [logical_id(queue), "QueueName"]}, key
    # the task may receive from (and delete in) each of its three queues
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": logical_id(stack.runner.service.task_definition.task_role)} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    consumed = {str(s["Resource"]) for s in statements if "sqs:ReceiveMessage" in s["Action"]}
    assert consumed == {str(_arn(q)) for q in m.long_run_queues.values()}


def test_a_fargate_only_deployment_polls_the_three_run_queues(synth: Synth) -> None:
    stack, template = synth(runner_mode="fargate")
    assert stack.runner.service is not None and stack.messaging.long_run_queues is None
    [container] = resource(template, stack.runner.service.task_definition)["Properties"]["ContainerDefinitions"]
    worker = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert worker["AUTOTEST_RUN_QUEUE_HIGH_NAME"] == {
        "Fn::GetAtt": [logical_id(stack.messaging.runs_high), "QueueName"]
    }
    # no runner Lambda: the planner, events, notifications and dead letters (one lane, one DLQ) only
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 4)
