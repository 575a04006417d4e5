"""What every autotest function has: the Python runtime on arm64, its code bundle (``infra_cdk/bundling.py``),
a log group of its own that goes with the stack (so no log group is left behind), a role of its own that may
write to that log group and nothing else until the stack grants more, and an environment naming the resources
it uses."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra_cdk.bundling import HANDLERS, LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, lambda_code
from infra_cdk.config import LOG_RETENTION

#: the Lambda runtime of the zip functions (the bundles are built for it: ``infra_cdk/bundling.py``)
RUNTIME = LAMBDA_RUNTIME


def log_group(scope: Construct, id: str, *, days: int, retain: bool) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        id,
        retention=logs.RetentionDays[LOG_RETENTION[days]],
        removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
    )


def python_function(
    scope: Construct,
    id: str,
    *,
    deployable: str,
    environment: dict[str, str],
    timeout: Duration,
    log_days: int,
    retain_logs: bool,
    memory_mb: int = 512,
    description: str,
    function_name: str | None = None,
) -> lambda_.Function:
    group = log_group(scope, f"{id}Logs", days=log_days, retain=retain_logs)
    role = function_role(scope, f"{id}Role", group)
    return lambda_.Function(
        scope,
        id,
        runtime=RUNTIME,
        architecture=LAMBDA_ARCHITECTURE,
        handler=HANDLERS[deployable],
        code=lambda_code(deployable),
        memory_size=memory_mb,
        timeout=timeout,
        environment=dict(environment),
        description=description,
        function_name=function_name,
        log_group=group,
        logging_format=lambda_.LoggingFormat.JSON,
        role=role,
    )


def function_role(scope: Construct, id: str, group: logs.ILogGroup) -> iam.Role:
    """A Lambda role that may write to ``group`` only (not the managed basic-execution policy, which may write
    to every log group in the account)."""
    role = iam.Role(scope, id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    group.grant_write(role)
    return role
