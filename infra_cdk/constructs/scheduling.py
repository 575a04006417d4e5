"""Scheduling: the scheduler function EventBridge Scheduler invokes when a schedule is due, the role the
schedules assume to invoke it (and to send an invocation that failed every retry to the schedules' dead-letter
queue), and the API's permission to manage the projects' schedules.

The schedules themselves are made at run time, one schedule group per project
(``<schedule_group_prefix><project id>``, ``shared/aws/scheduler.py``), so they are not in the template; the
teardown function deletes those groups with the stack.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra_cdk.config import StackConfig
from infra_cdk.constructs.functions import python_function


class Scheduling(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StackConfig,
        environment: dict[str, str],
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        # named, so its ARN is known before it exists: the function itself changes schedules (pausing one whose
        # suite or test is gone), and its environment cannot refer to its own ARN
        name = f"autotest-{config.stage}-scheduler"
        self.target_arn = f"arn:{stack.partition}:lambda:{stack.region}:{stack.account}:function:{name}"
        self.role = iam.Role(
            self,
            "ScheduleRole",
            description="assumed by autotest's EventBridge Scheduler schedules",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
        )
        dead_letters.grant_send_messages(self.role)
        self.dead_letters = dead_letters
        self.group_prefix = config.schedule_group_prefix
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            deployable="scheduler",
            description="autotest's scheduler: starts a due schedule's run or suite run",
            environment={**environment, **self.environment},
            timeout=Duration.seconds(60),
            log_days=config.log_retention_days,
            retain_logs=config.retain_data,
            function_name=name,
        )
        self.function.grant_invoke(self.role)

    @property
    def environment(self) -> dict[str, str]:
        """What the API needs to make schedules (``shared/aws/factory.py scheduler_of``)."""
        return {
            "AUTOTEST_SCHEDULER_TARGET_ARN": self.target_arn,
            "AUTOTEST_SCHEDULER_ROLE_ARN": self.role.role_arn,
            "AUTOTEST_SCHEDULER_DLQ_ARN": self.dead_letters.queue_arn,
        }

    def grant_manage(self, grantee: iam.IGrantable) -> None:
        """Make, change and delete schedules in the deployment's groups, and hand them the role. The groups are
        made at run time (one per project), so there is no group construct to grant on: the statement names the
        groups by the deployment's prefix."""
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}:scheduler:{stack.region}:{stack.account}"
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "scheduler:CreateSchedule",
                "scheduler:UpdateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
                "scheduler:CreateScheduleGroup",
            ],
            resource_arns=[f"{arn}:schedule/{self.group_prefix}*/*", f"{arn}:schedule-group/{self.group_prefix}*"],
        )
        self.role.grant_pass_role(grantee.grant_principal)
