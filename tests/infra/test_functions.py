"""The functions: Python on arm64 (zip) or the runner image (container Lambda and Fargate), a log group of their
own that goes with the stack, and an environment naming every resource they use, by the settings' names."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from infra_cdk.bundling import HANDLERS
from infra_cdk.constructs.functions import RUNTIME
from infra_cdk.stack import AutotestStack
from shared.services.routing import LAMBDA_RUN_LIMIT_S
from shared.settings import Settings
from tests.infra.conftest import Synth
from tests.infra.helpers import environment, logical_id, resource

SETTINGS = {f"AUTOTEST_{name.upper()}" for name in Settings.model_fields}


def _zip_functions(template: Template) -> dict[str, Any]:
    return {k: v for k, v in template.find_resources("AWS::Lambda::Function").items() if "ImageUri" not in str(v)}


def test_the_zip_functions_run_python_on_arm64_with_their_own_handler(template: Template) -> None:
    functions = _zip_functions(template)
    assert sorted(f["Properties"]["Handler"] for f in functions.values()) == sorted(HANDLERS.values())
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == RUNTIME.name and props["Runtime"] >= "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["LoggingConfig"]["LogGroup"]["Ref"]  # a log group of its own


def test_every_log_group_is_deleted_with_the_stack_and_expires(template: Template, synth: Synth) -> None:
    groups = template.find_resources("AWS::Logs::LogGroup")
    assert len(groups) >= 10
    for group in groups.values():
        assert group["DeletionPolicy"] == "Delete"
        assert group["Properties"]["RetentionInDays"] == 30
    _, kept = synth(retain_data=True, log_retention_days=90)
    for name, group in kept.find_resources("AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"] == 90
        if "Teardown" not in name and "Insights" not in name:  # its own logs, and metrics, go anyway
            assert group["DeletionPolicy"] == "Retain", name


def test_every_function_is_told_its_resources_by_the_settings_names(stack: AutotestStack, template: Template) -> None:
    functions = [
        stack.api.function,
        stack.planner.function,
        stack.scheduling.function,
        stack.events.function,
        stack.notifications.function,
        stack.dead_letters.function,
        stack.runner.function,
    ]
    for function in functions:
        assert function is not None
        env = environment(template, function)
        unknown = {k for k in env if k.startswith("AUTOTEST_")} - SETTINGS
        assert not unknown, f"{function.node.path}: not a setting: {unknown}"
        assert env["AUTOTEST_TABLE_NAME"] == {"Ref": logical_id(stack.storage.table)}
        assert env["AUTOTEST_ARTIFACT_BUCKET"] == {"Ref": logical_id(stack.storage.bucket)}
        assert env["AUTOTEST_EVENT_BUS_NAME"] == {"Ref": logical_id(stack.messaging.bus)}
        assert env["AUTOTEST_RUN_QUEUE_NAME"] == {"Fn::GetAtt": [logical_id(stack.messaging.runs), "QueueName"]}
        assert env["AUTOTEST_LONG_RUN_QUEUE_NAME"] == {
            "Fn::GetAtt": [logical_id(stack.messaging.long_runs), "QueueName"]  # type: ignore[arg-type]
        }
        assert env["AUTOTEST_SECRETS_PREFIX"] == "autotest/dev/"
        assert env["AUTOTEST_SCHEDULER_GROUP_PREFIX"] == "autotest.dev."
        assert env["AUTOTEST_PLANNER"] == "bedrock"
        assert env["AUTOTEST_RUN_MESSAGE_LIMIT_S"] == str(LAMBDA_RUN_LIMIT_S)  # batches fit the container Lambda


def test_the_api_is_told_how_to_make_schedules_and_where_its_key_is_never_the_key(
    stack: AutotestStack, template: Template
) -> None:
    env = environment(template, stack.api.function)
    # the scheduler function's ARN, by its name (it is told the same: it pauses schedules itself)
    assert resource(template, stack.scheduling.function)["Properties"]["FunctionName"] == "autotest-dev-scheduler"
    assert json.dumps(env["AUTOTEST_SCHEDULER_TARGET_ARN"]).endswith(':function:autotest-dev-scheduler"]]}')
    assert env["AUTOTEST_SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": [logical_id(stack.scheduling.role), "Arn"]}
    scheduler_env = environment(template, stack.scheduling.function)
    for key in ("AUTOTEST_SCHEDULER_TARGET_ARN", "AUTOTEST_SCHEDULER_ROLE_ARN", "AUTOTEST_SCHEDULER_DLQ_ARN"):
        assert scheduler_env[key] == env[key], key
    assert env["AUTOTEST_BOOTSTRAP_API_KEY_SECRET"] == {"Ref": logical_id(stack.api.bootstrap_key)}
    assert "AUTOTEST_BOOTSTRAP_API_KEY" not in env
    secret = resource(template, stack.api.bootstrap_key)["Properties"]
    assert "SecretString" not in secret and secret["GenerateSecretString"]["PasswordLength"] >= 40
    # the dashboard's cookie key: generated at deploy too, read by the API alone
    assert env["AUTOTEST_UI_SESSION_KEY_SECRET"] == {"Ref": logical_id(stack.api.ui_session_key)}
    assert "AUTOTEST_UI_SESSION_KEY" not in env
    ui_key = resource(template, stack.api.ui_session_key)["Properties"]
    assert "SecretString" not in ui_key and ui_key["GenerateSecretString"]["PasswordLength"] >= 32
    readers = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Resource") == {"Ref": logical_id(stack.api.ui_session_key)}
    ]
    assert readers and all("secretsmanager:GetSecretValue" in s["Action"] for s in readers)


def test_the_fargate_worker_polls_the_long_run_queue(stack: AutotestStack, template: Template) -> None:
    assert stack.runner.service is not None
    task = resource(template, stack.runner.service.task_definition)["Properties"]
    [container] = task["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["AUTOTEST_RUN_QUEUE_NAME"] == {
        "Fn::GetAtt": [logical_id(stack.messaging.long_runs), "QueueName"]  # type: ignore[arg-type]
    }
    assert set(k for k in env if k.startswith("AUTOTEST_")) <= SETTINGS
    assert env["AUTOTEST_BROWSER_IDLE_CLOSE_S"] == "0"  # billed for its size: the idle worker keeps its browser
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"


def test_a_lambda_only_deployment_refuses_runs_it_cannot_finish(synth: Synth) -> None:
    stack, template = synth(runner_mode="lambda")
    env = environment(template, stack.api.function)
    assert env["AUTOTEST_MAX_RUN_TIMEOUT_S"] == str(LAMBDA_RUN_LIMIT_S)
    assert env["AUTOTEST_RUN_MESSAGE_LIMIT_S"] == str(LAMBDA_RUN_LIMIT_S)  # a suite's batch is split to fit
    assert "AUTOTEST_LONG_RUN_QUEUE_NAME" not in env
    template.resource_count_is("AWS::ECS::Service", 0)


def test_a_fargate_only_deployment_has_no_runner_lambda(synth: Synth) -> None:
    stack, template = synth(runner_mode="fargate")
    assert stack.runner.function is None
    assert "AUTOTEST_RUN_MESSAGE_LIMIT_S" not in environment(template, stack.api.function)
    images = [f for f in template.find_resources("AWS::Lambda::Function").values() if "ImageUri" in str(f)]
    assert images == []
    assert stack.runner.service is not None
    [container] = resource(template, stack.runner.service.task_definition)["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["AUTOTEST_RUN_QUEUE_NAME"] == {"Fn::GetAtt": [logical_id(stack.messaging.runs), "QueueName"]}
