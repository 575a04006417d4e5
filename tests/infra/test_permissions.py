"""Each function's role allows what that function does and nothing more (grant_* in infra_cdk/stack.py)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from infra_cdk.stack import AutotestStack
from tests.infra.conftest import Synth
from tests.infra.helpers import actions, logical_id, managed_policies, statements


def _roles(stack: AutotestStack) -> dict[str, Any]:
    roles = {
        "api": stack.api.function.role,
        "planner": stack.planner.function.role,
        "scheduler": stack.scheduling.function.role,
        "events": stack.events.function.role,
        "notifications": stack.notifications.function.role,
        "deadletters": stack.dead_letters.function.role,
        "teardown": stack.teardown.function.role,
    }
    if stack.runner.function is not None:
        roles["runner"] = stack.runner.function.role
    if stack.runner.service is not None:
        roles["worker"] = stack.runner.service.task_definition.task_role
    return roles


def _of(prefix: str, allowed: set[str]) -> set[str]:
    return {a for a in allowed if a.startswith(prefix)}


def test_the_api_cannot_invoke_bedrock_or_write_artifacts(stack: AutotestStack, template: Template) -> None:
    allowed = actions(template, stack.api.function.role)
    assert not _of("bedrock:", allowed)
    assert _of("s3:", allowed) == {"s3:GetObject"}  # presigned links to artifacts: no listing, no writing
    # what it does: the table, queuing runs and plans, events, schedules, the projects' secrets
    assert {"sqs:SendMessage", "events:PutEvents", "scheduler:CreateSchedule", "iam:PassRole"} <= allowed
    assert {"secretsmanager:CreateSecret", "secretsmanager:GetSecretValue"} <= allowed
    assert "dynamodb:PutItem" in allowed


def test_the_planner_invokes_only_the_configured_model_and_cannot_write_artifacts(
    stack: AutotestStack, template: Template
) -> None:
    role = stack.planner.function.role
    allowed = actions(template, role)
    assert not _of("s3:", allowed)
    assert not _of("secretsmanager:", allowed)
    assert not _of("scheduler:", allowed)
    # the default is the global inference profile: it, and the model it routes to (in whichever region)
    [bedrock] = [s for s in statements(template, role) if "bedrock:InvokeModel" in json.dumps(s["Action"])]
    assert bedrock["Action"] == "bedrock:InvokeModel"
    resources = json.dumps(bedrock["Resource"])
    assert f"inference-profile/{stack.config.model_id}" in resources
    assert "foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0" in resources
    assert len(bedrock["Resource"]) == 2


def test_a_model_id_is_granted_in_the_stacks_region_only(synth: Synth) -> None:
    stack, template = synth(model_id="anthropic.claude-haiku-4-5-20251001-v1:0")
    [bedrock] = [s for s in statements(template, stack.planner.function.role) if "bedrock" in json.dumps(s["Action"])]
    resource = json.dumps(bedrock["Resource"])
    assert "foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0" in resource and "*" not in resource


def test_an_inference_profile_is_granted_with_the_model_it_routes_to(synth: Synth) -> None:
    profile = "eu.anthropic.claude-3-5-sonnet-20240620-v1:0"
    stack, template = synth(model_id=profile)
    [bedrock] = [s for s in statements(template, stack.planner.function.role) if "bedrock" in json.dumps(s["Action"])]
    resources = json.dumps(bedrock["Resource"])
    assert f"inference-profile/{profile}" in resources
    assert "foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0" in resources


def test_without_a_bedrock_planner_or_healer_no_role_may_invoke_a_model(synth: Synth) -> None:
    stack, template = synth(planner="rules")
    for name, role in _roles(stack).items():
        assert not _of("bedrock:", actions(template, role)), name


def test_a_bedrock_healer_lets_the_runners_invoke_the_model(synth: Synth) -> None:
    stack, template = synth(planner="rules", healer="bedrock")
    roles = _roles(stack)
    assert "bedrock:InvokeModel" in actions(template, roles["runner"])
    assert "bedrock:InvokeModel" in actions(template, roles["worker"])
    assert not _of("bedrock:", actions(template, roles["planner"]))


def test_the_runners_write_artifacts_and_read_secrets_but_manage_nothing(
    stack: AutotestStack, template: Template
) -> None:
    roles = _roles(stack)
    for name in ("runner", "worker"):
        allowed = actions(template, roles[name])
        assert "s3:PutObject" in allowed, name
        assert "secretsmanager:GetSecretValue" in allowed, name
        assert not {"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret"} & allowed, name
        assert not _of("scheduler:", allowed), name
        assert not _of("bedrock:", allowed), name  # the default healer is fuzzy matching
    assert "sqs:ReceiveMessage" in actions(template, roles["worker"])


def test_the_event_consumers_touch_no_artifacts_secrets_or_schedules(stack: AutotestStack, template: Template) -> None:
    roles = _roles(stack)
    for name in ("events", "deadletters", "scheduler"):
        allowed = actions(template, roles[name])
        assert not _of("s3:", allowed), name
        assert not _of("secretsmanager:", allowed), name
        assert not _of("bedrock:", allowed), name
    notifier = actions(template, roles["notifications"])
    # a GitHub commit status is sent with the project's token secret: read, never written
    assert _of("secretsmanager:", notifier) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert _of("s3:", notifier) == {"s3:GetObject"}  # the report's presigned link, nothing else


def test_the_scheduler_may_pause_schedules_and_the_dead_letter_consumer_may_requeue(
    stack: AutotestStack, template: Template
) -> None:
    roles = _roles(stack)
    assert {"scheduler:UpdateSchedule", "iam:PassRole"} <= actions(template, roles["scheduler"])
    assert "sqs:SendMessage" in actions(template, roles["deadletters"])  # a queued attempt's letter goes again


def test_teardown_may_only_delete_what_autotest_made(stack: AutotestStack, template: Template) -> None:
    role = stack.teardown.function.role
    allowed = actions(template, role)
    assert not _of("dynamodb:", allowed)
    assert not {a for a in _of("s3:", allowed) if a.startswith("s3:Get")}  # lists and deletes, reads nothing
    assert {"scheduler:DeleteScheduleGroup", "secretsmanager:DeleteSecret"} <= allowed
    scoped = [
        s
        for s in statements(template, role)
        if s["Action"] in ("scheduler:DeleteScheduleGroup", "secretsmanager:DeleteSecret")
    ]
    for statement in scoped:
        assert "autotest" in json.dumps(statement["Resource"]) and stack.config.stage in json.dumps(
            statement["Resource"]
        )


def test_no_function_role_has_a_managed_policy_and_each_writes_only_its_own_logs(
    stack: AutotestStack, template: Template
) -> None:
    functions = {
        "api": stack.api.function,
        "planner": stack.planner.function,
        "teardown": stack.teardown.function,
        "runner": stack.runner.function,
    }
    for name, function in functions.items():
        assert function is not None and function.role is not None
        assert managed_policies(template, function.role) == [], name
        logs = [s for s in statements(template, function.role) if "logs:PutLogEvents" in json.dumps(s["Action"])]
        assert logs, name
        scope = function.node.scope
        assert scope is not None
        own = logical_id(scope.node.find_child(f"{function.node.id}Logs"))
        for statement in logs:
            assert own in json.dumps(statement["Resource"]), name
