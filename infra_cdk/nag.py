"""cdk-nag's AwsSolutions pack over the stack, and every finding the stack accepts, each with its reason.

cdk-nag 3 reports through the CDK's validation plugins: a finding not acknowledged here fails the synth
(``make synth``, ``cdk deploy``) with a report in the cloud assembly (``validation-report.json``).
Acknowledgments name the exact finding (``AwsSolutions-IAM5[Resource::...]``), so a new wildcard that nobody
reasoned about still fails.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Token, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra_cdk.stack import AutotestStack, profile_model


def check(app: IConstruct) -> None:
    """Run the AwsSolutions pack when ``app`` is synthesized."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(stack: AutotestStack) -> None:
    """The findings the stack accepts, on the narrowest construct that has them."""

    def where(service: str) -> str:
        """An ARN's start as cdk-nag writes it: pseudo parameters where the stack's environment is not known."""
        region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
        account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        return f"arn:<AWS::Partition>:{service}:{region}:{account}"

    secrets = f"{where('secretsmanager')}:secret:{stack.config.secrets_prefix}"
    groups = f"{where('scheduler')}:schedule-group/{stack.config.schedule_group_prefix}"
    schedules = f"{where('scheduler')}:schedule/{stack.config.schedule_group_prefix}"
    table = _ref(stack.storage.table.node.default_child)
    bucket = _ref(stack.storage.bucket.node.default_child)
    for finding, reason in {
        f"IAM5[Resource::<{table}.Arn>/index/*]": "grant_read_write_data: the adapters query every index of the table",
        f"IAM5[Resource::<{bucket}.Arn>/*]": "the artifacts bucket's objects (links, grant_put, grant_delete)",
        "IAM5[Action::s3:Abort*]": "the CDK's grant_put actions (abort an upload), on the artifacts bucket only",
        "IAM5[Action::s3:DeleteObject*]": "the CDK's grant_delete actions (teardown), on the artifacts bucket only",
        f"IAM5[Resource::{secrets}*]": "the projects' secrets are made at run time, under the deployment's prefix",
        f"IAM5[Resource::{groups}*]": "schedule groups are made at run time (one per project), under the prefix",
        f"IAM5[Resource::{schedules}*/*]": "the schedules of the deployment's groups (made at run time)",
    }.items():
        _ack(stack, finding, reason)

    routed = profile_model(stack.config.model_id)
    if routed is not None and stack.config.bedrock_needed:
        _ack(
            stack,
            f"IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{routed}]",
            "an inference profile invokes its model in each region it spans (the profile is named exactly)",
        )
    list_calls = "ListSecrets / ListScheduleGroups take no resource (AWS's rule); the names are filtered by prefix"
    for function in (stack.api.function, stack.teardown.function):
        assert function.role is not None
        _ack(function.role, "IAM5[Resource::*]", list_calls)
    scheduler = _ref(stack.scheduling.function.node.default_child)
    _ack(stack.scheduling.role, f"IAM5[Resource::<{scheduler}.Arn>:*]", "grant_invoke: the function's versions")
    _ack(stack.api.http_api, "APIG4", "the app authenticates every request itself (project API keys)")
    _ack(
        stack.api.bootstrap_key,
        "SMG4",
        "the bootstrap key is rotated by hand (README: Deploy to AWS); automatic rotation would lock out its users",
    )
    _ack(
        stack.api.ui_session_key,
        "SMG4",
        "the dashboard's cookie key is read once per API process; rotating it (README: Deploy to AWS) only ends "
        "the logins, so it is rotated by hand",
    )
    _ack(
        stack.storage.bucket,
        "S1",
        "artifacts are written by the runners and read through presigned links; CloudTrail data events are the "
        "audit trail where one is wanted",
    )
    _ack(
        stack.messaging.schedules_dlq,
        "SQS3",
        "this is a dead-letter queue itself: EventBridge Scheduler's, which cdk-nag cannot see as one",
    )
    if stack.config.vpc_id and stack.runner.function is not None and stack.runner.function.role is not None:
        _ack(
            stack.runner.function.role,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
            "the runner's network interfaces in the VPC: AWS's policy for exactly that",
        )
    if stack.runner.service is not None:
        _ack(stack.runner.service.task_definition, "ECS2", "the environment holds resource names, never secrets")
        _ack(
            stack.runner.service.task_definition,
            "IAM5[Resource::*]",
            "the execution role's ecr:GetAuthorizationToken takes no resource (AWS's rule)",
        )


def _ack(scope: IConstruct, finding: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions-{finding}", reason=reason))


def _ref(element: IConstruct | None) -> str:
    assert isinstance(element, CfnElement)
    stack = Stack.of(element)
    return str(stack.resolve(stack.get_logical_id(element)))
