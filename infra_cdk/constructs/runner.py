"""The runner: one image (``runner_container/Dockerfile``: Playwright's Python image, pinned to the
project's Playwright) run two ways.

- A container Lambda on the run queue, for runs that fit in Lambda's 15 minutes (runner modes ``both`` and
  ``lambda``). One record per invocation: one browser per execution environment, Lambda scales the number.
- Fargate workers polling a queue (the long-run queue in mode ``both``, the run queue in mode ``fargate``),
  scaled on that queue's depth, visible plus in flight, down to none when it is empty: a worker busy with a run
  keeps its message in flight, so the service never scales to zero under it, and it protects its task from
  scale-in while it holds runs (``runner/protection.py``), so a smaller count stops idle workers. The service
  has no desired count in the template (a deploy would reset it under the scaling).

Which queue a run goes to is the run service's decision (``shared/services/routing.py``); the stack only says
whether there is a long-run queue. Each lane has a queue per priority (``docs/architecture.md``: priority): the
Fargate workers ask them in order (high, normal, low) and scale on the three together; the container Lambda has an
event source on each, whose maximum concurrencies split ``max_lambda_runners`` (``lambda_concurrency``), so that
the high queue always has runners of its own however many normal and low runs wait.

With ``vpc_id`` both run in that VPC's private subnets; otherwise the Fargate workers get a VPC of their own
(public subnets, no NAT gateway, nothing inbound) and the Lambda none.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra_cdk.bundling import ROOT
from infra_cdk.config import LOG_RETENTION, StackConfig
from infra_cdk.constructs.functions import function_role, log_group
from shared.models.priority import PRIORITIES, Priority

#: Lambda's limit; the run service sends it only runs it can finish (``LAMBDA_RUN_LIMIT_S``)
LAMBDA_TIMEOUT = Duration.minutes(15)
#: how long a Fargate worker hides a message it received before its next heartbeat extends it
#: (``AUTOTEST_VISIBILITY_TIMEOUT_S``); the queue's own visibility is six times this
WORKER_VISIBILITY = Duration.seconds(60)
#: runs one Fargate worker executes at once (``AUTOTEST_RUNNER_CONCURRENCY``)
WORKER_CONCURRENCY = 2


class Runner(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StackConfig,
        environment: dict[str, str],
        lambda_queues: Mapping[Priority, sqs.IQueue] | None,
        fargate_queues: Mapping[Priority, sqs.IQueue] | None,
    ) -> None:
        super().__init__(scope, id)
        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(ROOT),
            file="runner_container/Dockerfile",
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        self.vpc: ec2.IVpc | None = None
        subnets: ec2.SubnetSelection | None = None
        if config.vpc_id:
            self.vpc = ec2.Vpc.from_lookup(self, "Vpc", vpc_id=config.vpc_id)
            subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.function: lambda_.DockerImageFunction | None = None
        if lambda_queues is not None:
            self.function = self._lambda(config, environment, lambda_queues, subnets)
        self.service: ecs.FargateService | None = None
        self.cluster: ecs.Cluster | None = None
        if fargate_queues is not None:
            self._fargate(config, environment, fargate_queues, subnets)

    @property
    def grantees(self) -> list[object]:
        """What runs runs (the Lambda's role, the Fargate task role), to grant to."""
        found: list[object] = []
        if self.function is not None:
            found.append(self.function)
        if self.service is not None:
            found.append(self.service.task_definition.task_role)
        return found

    def _lambda(
        self,
        config: StackConfig,
        environment: dict[str, str],
        queues: Mapping[Priority, sqs.IQueue],
        subnets: ec2.SubnetSelection | None,
    ) -> lambda_.DockerImageFunction:
        group = log_group(self, "FunctionLogs", days=config.log_retention_days, retain=config.retain_data)
        role = function_role(self, "FunctionRole", group)
        if (
            self.vpc is not None
        ):  # its network interfaces in the VPC (AWS's policy; the CDK adds it only to roles it makes)
            role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
            )
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="autotest's runner (container Lambda): runs up to Lambda's limit",
            code=lambda_.DockerImageCode.from_ecr(self.image.repository, tag_or_digest=self.image.image_tag),
            architecture=lambda_.Architecture.X86_64,
            memory_size=config.runner_memory_mb,
            ephemeral_storage_size=Size.mebibytes(2048),
            timeout=LAMBDA_TIMEOUT,
            environment={**environment, "AUTOTEST_RUNNER_CONCURRENCY": "1"},
            log_group=group,
            role=role,
            logging_format=lambda_.LoggingFormat.JSON,
            vpc=self.vpc,
            vpc_subnets=subnets,
        )
        # Lambda polls each queue on its own: no order between them, but each priority has runners of its own
        most = lambda_concurrency(config.max_lambda_runners)
        for priority in PRIORITIES:
            function.add_event_source(
                sources.SqsEventSource(
                    queues[priority], batch_size=1, report_batch_item_failures=True, max_concurrency=most[priority]
                )
            )
        return function

    def _fargate(
        self,
        config: StackConfig,
        environment: dict[str, str],
        queues: Mapping[Priority, sqs.IQueue],
        subnets: ec2.SubnetSelection | None,
    ) -> None:
        public = self.vpc is None
        if self.vpc is None:
            flow_logs = log_group(self, "FlowLogs", days=config.log_retention_days, retain=config.retain_data)
            self.vpc = ec2.Vpc(
                self,
                "WorkerVpc",
                max_azs=2,
                nat_gateways=0,
                subnet_configuration=[
                    ec2.SubnetConfiguration(name="workers", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
                ],
                flow_logs={
                    "rejected": ec2.FlowLogOptions(
                        destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                        traffic_type=ec2.FlowLogTrafficType.REJECT,
                    )
                },
                # its default security group is unused (the CDK's restriction would add a function whose log
                # group outlives the stack)
                restrict_default_security_group=False,
            )
            subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
        cluster_name = f"autotest-{config.stage}-runners"
        # Container Insights writes to this group; made here (not by AWS on first use) so it goes with the stack,
        # always (metrics, not data; and its fixed name, kept, would stop the next deployment of the stage)
        self.insights_logs = logs.LogGroup(
            self,
            "InsightsLogs",
            log_group_name=f"/aws/ecs/containerinsights/{cluster_name}/performance",
            retention=logs.RetentionDays[LOG_RETENTION[config.log_retention_days]],
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=cluster_name,
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.cluster.node.add_dependency(self.insights_logs)
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=2048,
            memory_limit_mib=4096,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.task_logs = log_group(self, "TaskLogs", days=config.log_retention_days, retain=config.retain_data)
        task.add_container(
            "worker",
            image=ecs.ContainerImage.from_docker_image_asset(self.image),
            environment={
                **environment,
                # its run queues: the long lane's in runner mode both (asked high, normal, low)
                "AUTOTEST_RUN_QUEUE_NAME": queues["normal"].queue_name,
                "AUTOTEST_RUN_QUEUE_HIGH_NAME": queues["high"].queue_name,
                "AUTOTEST_RUN_QUEUE_LOW_NAME": queues["low"].queue_name,
                "AUTOTEST_VISIBILITY_TIMEOUT_S": str(int(WORKER_VISIBILITY.to_seconds())),
                "AUTOTEST_RUNNER_CONCURRENCY": str(WORKER_CONCURRENCY),
                # a task is billed for its size whatever it holds: an idle worker keeps its browser warm
                "AUTOTEST_BROWSER_IDLE_CLOSE_S": "0",
            },
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=self.task_logs),
            stop_timeout=Duration.seconds(120),  # time to put a run back before SIGKILL
        )
        self.service = ecs.FargateService(
            self,
            "Workers",
            cluster=self.cluster,
            task_definition=task,
            min_healthy_percent=0,
            assign_public_ip=public,
            vpc_subnets=subnets,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        self._scale_on(queues, config.max_fargate_workers)
        self.cluster.apply_removal_policy(RemovalPolicy.DESTROY)

    def _scale_on(self, queues: Mapping[Priority, sqs.IQueue], most: int) -> None:
        assert self.service is not None
        period = Duration.minutes(1)
        metrics: dict[str, cloudwatch.IMetric] = {}
        for priority in PRIORITIES:
            queue = queues[priority]
            metrics[f"visible_{priority}"] = queue.metric_approximate_number_of_messages_visible(
                period=period, statistic="Maximum"
            )
            metrics[f"inflight_{priority}"] = queue.metric_approximate_number_of_messages_not_visible(
                period=period, statistic="Maximum"
            )
        depth = cloudwatch.MathExpression(
            label="runs waiting or running",
            expression=" + ".join(metrics),  # every priority's queue: visible + in flight
            using_metrics=metrics,
            period=period,
        )
        scaling = self.service.auto_scale_task_count(min_capacity=0, max_capacity=most)
        scaling.scale_on_metric(
            "OnQueueDepth",
            metric=depth,
            adjustment_type=autoscaling.AdjustmentType.EXACT_CAPACITY,
            scaling_steps=worker_steps(most, WORKER_CONCURRENCY),
            cooldown=Duration.seconds(60),
            evaluation_periods=1,
        )


#: each priority's share of ``max_lambda_runners`` (the event sources' maximum concurrencies)
LAMBDA_SHARES: dict[Priority, float] = {"high": 0.5, "normal": 0.3, "low": 0.2}
#: the least maximum concurrency an SQS event source takes
MIN_EVENT_SOURCE_CONCURRENCY = 2


def lambda_concurrency(most: int) -> dict[Priority, int]:
    """Each priority's event source's maximum concurrency: ``most`` split by ``LAMBDA_SHARES`` (normal's and low's
    rounded down, high the rest), each at least 2 (the event source's least: with ``most`` below 10 the three may
    add up to more than ``most``)."""
    normal = max(MIN_EVENT_SOURCE_CONCURRENCY, int(most * LAMBDA_SHARES["normal"]))
    low = max(MIN_EVENT_SOURCE_CONCURRENCY, int(most * LAMBDA_SHARES["low"]))
    high = max(MIN_EVENT_SOURCE_CONCURRENCY, most - normal - low)
    return {"high": high, "normal": normal, "low": low}


def worker_steps(most: int, per_worker: int) -> list[autoscaling.ScalingInterval]:
    """Exact worker counts by queue depth: none for an empty queue, then enough workers for the runs waiting
    or running (``per_worker`` each), in doubling steps up to ``most``."""
    steps = [autoscaling.ScalingInterval(upper=0, change=0)]
    workers = 1
    while True:
        steps.append(autoscaling.ScalingInterval(lower=(workers - 1) * per_worker + 1, change=workers))
        if workers >= most:
            return steps
        workers = min(workers * 2, most)
