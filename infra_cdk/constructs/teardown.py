"""Teardown: a custom resource whose function (``functions/teardown``) removes, when the stack is deleted, what
autotest made at run time: the artifacts' objects, the projects' schedule groups and secrets (with
``retain_data``, only the schedule groups, which could not fire any more). It is deleted after everything that
writes artifacts or secrets (the stack makes those depend on it) and before the bucket (it depends on that),
so the bucket is empty, and stays so, when CloudFormation deletes it."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra_cdk.config import StackConfig
from infra_cdk.constructs.functions import python_function


class Teardown(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, bucket: s3.IBucket) -> None:
        super().__init__(scope, id)
        self.function = python_function(
            self,
            "Function",
            deployable="teardown",
            description="autotest's teardown: removes run-time leftovers when the stack is deleted",
            environment={"POWERTOOLS_SERVICE_NAME": "autotest-teardown"},
            timeout=Duration.minutes(10),
            log_days=config.log_retention_days,
            retain_logs=False,
        )
        bucket.grant_delete(self.function)
        iam.Grant.add_to_principal(  # listing what to delete, and nothing read
            grantee=self.function, actions=["s3:ListBucket"], resource_arns=[bucket.bucket_arn]
        )
        stack = Stack.of(self)
        where = f"{stack.region}:{stack.account}"
        # run-time names, not constructs: statements on the deployment's prefixes (the List calls take no resource)
        iam.Grant.add_to_principal(
            grantee=self.function,
            actions=["scheduler:DeleteScheduleGroup"],
            resource_arns=[f"arn:{stack.partition}:scheduler:{where}:schedule-group/{config.schedule_group_prefix}*"],
        )
        iam.Grant.add_to_principal(
            grantee=self.function,
            actions=["secretsmanager:DeleteSecret"],
            resource_arns=[f"arn:{stack.partition}:secretsmanager:{where}:secret:{config.secrets_prefix}*"],
        )
        iam.Grant.add_to_principal(
            grantee=self.function,
            actions=["scheduler:ListScheduleGroups", "secretsmanager:ListSecrets"],
            resource_arns=["*"],
        )
        iam.Grant.add_to_principal(  # is it the stack's deletion, or this resource's replacement?
            grantee=self.function, actions=["cloudformation:DescribeStacks"], resource_arns=[stack.stack_id]
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type="Custom::AutotestTeardown",
            properties={
                "Bucket": bucket.bucket_name,
                "ScheduleGroupPrefix": config.schedule_group_prefix,
                "SecretsPrefix": config.secrets_prefix,
                "Retain": "true" if config.retain_data else "false",
            },
        )
