"""The runner: one image as a container Lambda on the run queue and as Fargate workers on the long-run queue,
scaled on that queue's depth down to none."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

from infra_cdk.app import build
from infra_cdk.config import ConfigError
from infra_cdk.constructs.runner import WORKER_CONCURRENCY, worker_steps
from infra_cdk.stack import AutotestStack
from tests.infra.helpers import logical_id, managed_policies, resource


def test_the_container_lambda_runs_up_to_lambdas_limit_one_record_at_a_time(
    stack: AutotestStack, template: Template
) -> None:
    assert stack.runner.function is not None
    props = resource(template, stack.runner.function)["Properties"]
    assert props["PackageType"] == "Image"
    assert props["Timeout"] == 900
    assert props["MemorySize"] >= 2048
    for queue, most in ((stack.messaging.runs_high, 5), (stack.messaging.runs, 3), (stack.messaging.runs_low, 2)):
        template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": logical_id(stack.runner.function)},
                "EventSourceArn": {"Fn::GetAtt": [logical_id(queue), "Arn"]},
                "BatchSize": 1,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": most},  # max_lambda_runners 10, split by priority
            },
        )


def test_the_workers_scale_on_waiting_and_running_runs_down_to_none(stack: AutotestStack, template: Template) -> None:
    assert stack.runner.service is not None
    service = resource(template, stack.runner.service)["Properties"]
    # no count in the template: a deploy would set it again, taking workers from under their runs
    assert "DesiredCount" not in service and service["LaunchType"] == "FARGATE"
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 0, "MaxCapacity": 4}
    )
    lower = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmDescription": "Lower threshold scaling alarm"}}
    )
    [alarm] = lower.values()
    [expression] = [m for m in alarm["Properties"]["Metrics"] if "Expression" in m]
    # every priority's queue; a busy worker's message is in flight
    assert expression["Expression"] == " + ".join(
        f"{what}_{priority}" for priority in ("high", "normal", "low") for what in ("visible", "inflight")
    )
    assert stack.messaging.long_run_queues is not None
    for queue in stack.messaging.long_run_queues.values():
        assert logical_id(queue) in str(alarm["Properties"]["Metrics"])
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"StepScalingPolicyConfiguration": Match.object_like({"AdjustmentType": "ExactCapacity"})},
    )


def test_a_vpc_without_an_account_and_region_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    with pytest.raises(ConfigError, match="vpc_id: looking the VPC up needs AWS: run the CDK CLI"):
        build(App(outdir=str(tmp_path), context={"vpc_id": "vpc-0123456789abcdef0"}))


def test_worker_steps_give_enough_workers_for_the_depth_up_to_the_most() -> None:
    steps = worker_steps(10, WORKER_CONCURRENCY)
    assert (steps[0].upper, steps[0].change) == (0, 0)
    assert [(s.lower, s.change) for s in steps[1:]] == [(1, 1), (3, 2), (7, 4), (15, 8), (19, 10)]
    assert [(s.lower, s.change) for s in worker_steps(1, 2)[1:]] == [(1, 1)]


def test_the_image_is_the_runner_dockerfile_built_at_deploy(template: Template, stack: AutotestStack) -> None:
    outdir = Path(stack.node.root.outdir)  # type: ignore[attr-defined]
    assets = json.loads((outdir / f"{stack.artifact_id}.assets.json").read_text())
    [image] = assets["dockerImages"].values()
    assert image["source"]["dockerFile"] == "runner_container/Dockerfile"
    assert image["source"]["platform"] == "linux/amd64"
    staged = outdir / image["source"]["directory"]
    assert (staged / "runner_container" / "Dockerfile").is_file()
    assert not (staged / ".venv").exists() and not (staged / ".git").exists()  # .dockerignore keeps it small


def test_without_a_vpc_the_workers_get_one_of_their_own_with_nothing_inbound(template: Template) -> None:
    template.has_resource_properties("AWS::EC2::VPC", Match.any_value())
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})
    for group in template.find_resources("AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in group["Properties"]


def test_with_a_vpc_both_runners_use_its_private_subnets(
    new_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    app = new_app(vpc_id="vpc-0123456789abcdef0")
    stack = build(app)
    template = Template.from_stack(stack)  # the lookup's placeholder VPC (the CLI looks the real one up)
    template.resource_count_is("AWS::EC2::VPC", 0)
    assert stack.runner.function is not None
    assert "VpcConfig" in resource(template, stack.runner.function)["Properties"]
    assert stack.runner.function.role is not None  # its network interfaces: the role may make them
    assert "AWSLambdaVPCAccessExecutionRole" in str(managed_policies(template, stack.runner.function.role))
    assert stack.runner.service is not None
    network = resource(template, stack.runner.service)["Properties"]["NetworkConfiguration"]
    assert network["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
