"""The autotest stack: one stack, one construct per concern (``infra_cdk/constructs/``), permissions through
``grant_*`` (each function gets what it uses and no more: ``tests/infra/test_permissions.py``), every
function's environment naming its resources (the ``AUTOTEST_*`` settings of ``shared/settings.py``)."""

from __future__ import annotations

import re

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra_cdk.config import StackConfig
from infra_cdk.constructs import workers
from infra_cdk.constructs.api import Api
from infra_cdk.constructs.messaging import Consumers, Messaging
from infra_cdk.constructs.monitoring import Monitoring
from infra_cdk.constructs.runner import LAMBDA_TIMEOUT, WORKER_VISIBILITY, Runner
from infra_cdk.constructs.scheduling import Scheduling
from infra_cdk.constructs.storage import Storage
from infra_cdk.constructs.teardown import Teardown
from infra_cdk.constructs.workers import QueueWorker
from shared.resources import AUDIT_PARTITION_PREFIX
from shared.services.routing import LAMBDA_RUN_LIMIT_S

#: an inference profile's id starts with its geography (``us.anthropic...``)
_PROFILE = re.compile(r"^(us|eu|apac|us-gov|ca|jp|au|global)\.")


def profile_model(model_id: str) -> str | None:
    """The model an inference profile id (``us.anthropic...``) routes to; none for a model id or an ARN."""
    return model_id.split(".", 1)[1] if _PROFILE.match(model_id) else None


class AutotestStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, **kwargs: object) -> None:
        super().__init__(scope, id, description=f"autotest ({config.stage})", **kwargs)  # type: ignore[arg-type]
        self.config = config
        lambda_runner = config.runner_mode in ("both", "lambda")
        fargate_runner = config.runner_mode in ("both", "fargate")

        self.storage = Storage(self, "Storage", retention_days=config.retention_days, retain=config.retain_data)
        self.messaging = Messaging(
            self,
            "Messaging",
            stage=config.stage,
            archive_days=config.retention_days,
            consumers=Consumers(
                runs=LAMBDA_TIMEOUT if lambda_runner else WORKER_VISIBILITY,
                long_runs=WORKER_VISIBILITY if config.runner_mode == "both" else None,
                plans=workers.PLANNER.timeout,
                events=workers.EVENTS.timeout,
                notifications=workers.NOTIFICATIONS.timeout,
                dead_letters=workers.DEAD_LETTERS.timeout,
            ),
        )
        env = self._environment()
        m, s = self.messaging, self.storage

        self.scheduling = Scheduling(self, "Scheduling", config=config, environment=env, dead_letters=m.schedules_dlq)
        self.api = Api(self, "Api", config=config, environment={**env, **self.scheduling.environment})
        env_public = {**env, "AUTOTEST_PUBLIC_URL": self.api.url}
        self.planner = QueueWorker(
            self, "Planner", worker=workers.PLANNER, queues=[m.plans], config=config, environment=env
        )
        self.events = QueueWorker(
            self, "Events", worker=workers.EVENTS, queues=[m.events], config=config, environment=env
        )
        self.notifications = QueueWorker(
            self,
            "Notifications",
            worker=workers.NOTIFICATIONS,
            queues=[m.notifications],
            config=config,
            environment=env_public,
        )
        run_dlqs = [q for q in (m.runs_dlq, m.long_runs_dlq) if q is not None]
        self.dead_letters = QueueWorker(
            self, "DeadLetters", worker=workers.DEAD_LETTERS, queues=run_dlqs, config=config, environment=env
        )
        self.runner = Runner(
            self,
            "Runner",
            config=config,
            environment=env,
            lambda_queues=m.run_queues if lambda_runner else None,
            fargate_queues=(m.long_run_queues or m.run_queues) if fargate_runner else None,
        )
        self.teardown = Teardown(self, "Teardown", config=config, bucket=s.bucket)
        functions = {
            "api": self.api.function,
            "planner": self.planner.function,
            "scheduler": self.scheduling.function,
            "events": self.events.function,
            "notifications": self.notifications.function,
            "deadletters": self.dead_letters.function,
            **({"runner": self.runner.function} if self.runner.function is not None else {}),
        }
        for writer in [*functions.values(), self.runner.service]:
            if writer is not None:  # deleted before the teardown runs, so nothing writes after it
                writer.node.add_dependency(self.teardown.resource)
        self._grant()

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            stage=config.stage,
            alarm_email=config.alarm_email,
            functions={**functions, "teardown": self.teardown.function},
            queues=m.queues,
            dead_letter_queues=m.dead_letter_queues,
            cluster=self.runner.cluster,
        )
        self._outputs()

    def _environment(self) -> dict[str, str]:
        """The resource names and choices every function reads (``shared/settings.py``)."""
        c, m, s = self.config, self.messaging, self.storage
        env = {
            "AUTOTEST_TABLE_NAME": s.table.table_name,
            "AUTOTEST_ARTIFACT_BUCKET": s.bucket.bucket_name,
            "AUTOTEST_RUN_QUEUE_NAME": m.runs.queue_name,
            "AUTOTEST_RUN_DLQ_NAME": m.runs_dlq.queue_name,
            "AUTOTEST_PLAN_QUEUE_NAME": m.plans.queue_name,
            "AUTOTEST_PLAN_DLQ_NAME": m.plans_dlq.queue_name,
            "AUTOTEST_EVENTS_QUEUE_NAME": m.events.queue_name,
            "AUTOTEST_EVENTS_DLQ_NAME": m.events_dlq.queue_name,
            "AUTOTEST_EVENTS_RULE_NAME": m.events_rule.rule_name,
            "AUTOTEST_NOTIFY_QUEUE_NAME": m.notifications.queue_name,
            "AUTOTEST_NOTIFY_DLQ_NAME": m.notifications_dlq.queue_name,
            "AUTOTEST_EVENT_BUS_NAME": m.bus.event_bus_name,
            "AUTOTEST_SECRETS_PREFIX": c.secrets_prefix,
            "AUTOTEST_SCHEDULER_GROUP_PREFIX": c.schedule_group_prefix,
            "AUTOTEST_PLANNER": c.planner,
            "AUTOTEST_HEALER": c.healer,
            "AUTOTEST_BEDROCK_MODEL_ID": c.model_id,
            "AUTOTEST_NETWORK_ALLOWLIST": c.network_allowlist,
            "POWERTOOLS_SERVICE_NAME": f"autotest-{c.stage}",
        }
        env["AUTOTEST_RUN_QUEUE_HIGH_NAME"] = m.runs_high.queue_name
        env["AUTOTEST_RUN_QUEUE_LOW_NAME"] = m.runs_low.queue_name
        if m.long_runs is not None:
            env["AUTOTEST_LONG_RUN_QUEUE_NAME"] = m.long_runs.queue_name
        if m.long_runs_high is not None and m.long_runs_low is not None:
            env["AUTOTEST_LONG_RUN_QUEUE_HIGH_NAME"] = m.long_runs_high.queue_name
            env["AUTOTEST_LONG_RUN_QUEUE_LOW_NAME"] = m.long_runs_low.queue_name
        if c.runner_mode != "fargate":  # a suite's batch on the container Lambda fits in its 15 minutes
            env["AUTOTEST_RUN_MESSAGE_LIMIT_S"] = str(LAMBDA_RUN_LIMIT_S)
        if c.runner_mode == "lambda":  # nothing can take a longer run: refused when it is started (a 422)
            env["AUTOTEST_MAX_RUN_TIMEOUT_S"] = str(LAMBDA_RUN_LIMIT_S)
        return env

    def _grant(self) -> None:
        """What each function may do, and nothing else."""
        m, s = self.messaging, self.storage
        run_queues = [*m.run_queues.values(), *(m.long_run_queues or {}).values()]
        api = self.api.function
        s.table.grant_read_write_data(api)
        self._grant_links(api)
        for queue in (*run_queues, m.plans):
            queue.grant_send_messages(api)
        m.bus.grant_put_events_to(api)
        self.scheduling.grant_manage(api)
        self._grant_project_secrets(api, manage=True)

        runners = self.runner.grantees
        for runner in runners:
            s.table.grant_read_write_data(runner)  # type: ignore[arg-type]
            s.bucket.grant_put(runner)  # type: ignore[arg-type]
            for queue in run_queues:  # a retry goes back on a queue
                queue.grant_send_messages(runner)  # type: ignore[arg-type]
            m.bus.grant_put_events_to(runner)  # type: ignore[arg-type]
            self._grant_project_secrets(runner, manage=False)  # type: ignore[arg-type]
        if self.runner.service is not None:  # the Lambda's event sources grant their own queues
            for queue in (m.long_run_queues or m.run_queues).values():
                queue.grant_consume_messages(self.runner.service.task_definition.task_role)

        planner = self.planner.function
        s.table.grant_read_write_data(planner)
        for queue in run_queues:  # a goal-only run, planned, is queued
            queue.grant_send_messages(planner)
        m.bus.grant_put_events_to(planner)

        self.scheduling.grant_manage(self.scheduling.function)  # it pauses a schedule whose suite or test is gone
        for function in (self.scheduling.function, self.events.function):
            s.table.grant_read_write_data(function)
            for queue in (*run_queues, m.plans):  # a schedule or a suite starts runs
                queue.grant_send_messages(function)
            m.bus.grant_put_events_to(function)

        notifier = self.notifications.function
        s.table.grant_read_write_data(notifier)
        self._grant_links(notifier)  # the report's link in a notification
        m.notifications.grant_send_messages(notifier)  # the next attempt of a delivery
        self._grant_project_secrets(notifier, manage=False)  # a GitHub status's token (the project's secret)

        dead = self.dead_letters.function
        s.table.grant_read_write_data(dead)
        m.bus.grant_put_events_to(dead)
        for queue in run_queues:  # a queued attempt's letter is sent again (RunService.dead_letter)
            queue.grant_send_messages(dead)

        table_writers = [api, *runners, planner, self.scheduling.function, self.events.function, notifier, dead]
        self._keep_audit_append_only(table_writers)

        if self.config.planner == "bedrock":
            self._grant_model(planner)
        if self.config.healer == "bedrock":
            for runner in runners:
                self._grant_model(runner)  # type: ignore[arg-type]

    def _keep_audit_append_only(self, writers: list[object]) -> None:
        """The audit log (partitions ``AUDIT#<project id>``) is append-only: whatever else a role may write in the
        table, an update, a delete or a batch write there is denied (a transaction's items are authorized as
        their own actions; DynamoDB's TTL deletes need no permission). Appending is a conditional put that never
        overwrites (``shared/aws/dynamodb_audit.py``)."""
        for writer in writers:
            grantee: iam.IGrantable = writer  # type: ignore[assignment]
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="AuditLogAppendOnly",
                    effect=iam.Effect.DENY,
                    actions=[
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:BatchWriteItem",
                        "dynamodb:PartiQLUpdate",
                        "dynamodb:PartiQLDelete",
                    ],
                    resources=[self.storage.table.table_arn],
                    conditions={"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": [f"{AUDIT_PARTITION_PREFIX}*"]}},
                )
            )

    def _grant_links(self, grantee: iam.IGrantable) -> None:
        """Presigned links to artifacts: a link works with its signer's permission, and one to get an object is
        all it needs (not the listing and bucket reads of ``grant_read``)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self.storage.bucket.arn_for_objects("*")],
        )

    def _grant_model(self, grantee: iam.IGrantable) -> None:
        """``bedrock:InvokeModel`` (what Converse needs) on the configured model or inference profile only.
        The CDK has no Bedrock grant to call: the statement is written here, as narrow as the model id."""
        model = self.config.model_id
        routed = profile_model(model)
        if routed is not None:  # a cross-region profile routes to the model in the regions it spans
            arns = [
                f"arn:{self.partition}:bedrock:{self.region}:{self.account}:inference-profile/{model}",
                f"arn:{self.partition}:bedrock:*::foundation-model/{routed}",
            ]
        else:
            arns = [f"arn:{self.partition}:bedrock:{self.region}::foundation-model/{model}"]
        iam.Grant.add_to_principal(grantee=grantee, actions=["bedrock:InvokeModel"], resource_arns=arns)

    def _grant_project_secrets(self, grantee: iam.IGrantable, *, manage: bool) -> None:
        """The projects' secrets (``<secrets_prefix><project>/<NAME>``, made at run time through the API): the
        runners read them, the API manages them. Run-time names, so the statement names the prefix."""
        arn = f"arn:{self.partition}:secretsmanager:{self.region}:{self.account}:secret:{self.config.secrets_prefix}*"
        read = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        write = [
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:DeleteSecret",
            "secretsmanager:RestoreSecret",
            "secretsmanager:TagResource",
        ]
        iam.Grant.add_to_principal(grantee=grantee, actions=read + write if manage else read, resource_arns=[arn])
        if manage:
            iam.Grant.add_to_principal(grantee=grantee, actions=["secretsmanager:ListSecrets"], resource_arns=["*"])

    def _outputs(self) -> None:
        m, s = self.messaging, self.storage
        CfnOutput(self, "ApiUrl", value=self.api.url, description="the API's address (AUTOTEST_API_URL)")
        CfnOutput(
            self,
            "ApiFunctionName",
            value=self.api.function.function_name,
            description="the API's function (its logs; a configuration change makes it read a rotated key)",
        )
        CfnOutput(self, "TableName", value=s.table.table_name)
        CfnOutput(self, "ArtifactBucket", value=s.bucket.bucket_name)
        CfnOutput(self, "EventBusName", value=m.bus.event_bus_name)
        CfnOutput(self, "AlarmTopic", value=self.monitoring.topic.topic_arn)
        CfnOutput(
            self,
            "BootstrapKeySecret",
            value=self.api.bootstrap_key.secret_arn,
            description="the first API key (the default project's admin key), in Secrets Manager",
        )
        CfnOutput(
            self,
            "GetBootstrapKey",
            value=(
                f"aws secretsmanager get-secret-value --region {self.region} --secret-id "
                f"{self.api.bootstrap_key.secret_arn} --query SecretString --output text"
            ),
            description="prints the first API key",
        )
        if getattr(self.api, "domain_target", None) is not None:
            CfnOutput(self, "DomainTarget", value=self.api.domain_target, description="point the domain's DNS here")
