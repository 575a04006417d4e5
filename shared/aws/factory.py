"""Wire the AWS adapters into ``Services``, once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

from shared.aws.clients import ClientFactory, endpoint_clients, lazy_clients
from shared.aws.dynamodb import DynamoElementCache, DynamoPlanStore, DynamoRepository, DynamoSuiteStore
from shared.aws.dynamodb_audit import DynamoAuditStore
from shared.aws.dynamodb_github import DynamoGithubStore
from shared.aws.dynamodb_notifications import DynamoNotificationStore
from shared.aws.dynamodb_schedules import DynamoScheduleStore
from shared.aws.errors import translate
from shared.aws.eventbridge import EventBridgePublisher
from shared.aws.s3 import S3ArtifactStore
from shared.aws.scheduler import EventBridgeScheduler, LocalScheduler
from shared.aws.secrets import SecretsManagerStore
from shared.aws.sqs import SqsEventQueue, SqsNotificationQueue, SqsPlanQueue, SqsRunQueue
from shared.errors import DomainError, Unavailable
from shared.netguard import NetworkGuard
from shared.notify.sender import WebhookSender
from shared.observability import logger
from shared.planning.choose import ConfiguredPlanner, plans_inline
from shared.ports import ArtifactStore, Planner, Scheduler
from shared.services.artifact_links import ArtifactLinkSigner, SignedLinkArtifacts
from shared.services.audit import AuditService
from shared.services.catalog import Catalog
from shared.services.container import Services
from shared.services.github import GithubService
from shared.services.notifications import DeliveryPolicy, NotificationService
from shared.services.planning import Planning
from shared.services.projects import Projects
from shared.services.runs import RunLimits, RunService
from shared.services.schedules import ScheduleService
from shared.services.secrets import Secrets
from shared.services.stats import StatsService
from shared.services.suites import SuiteService
from shared.settings import Settings, get_settings


def build_services(
    settings: Settings,
    *,
    clients: ClientFactory | None = None,
    links: ArtifactLinkSigner | None = None,
    planner: Planner | None = None,
    in_process_queues: bool = False,
) -> Services:
    """``clients`` makes the boto3 client of a service (default: ``settings``' region and endpoint, each client
    made when first used, so a cold start builds only those its first request needs; local mode hands in its
    journaled in-process clients). With ``links``, artifact links are the API's own signed links (local mode)
    instead of presigned S3 URLs. ``planner``: default, the one ``settings.planner`` names
    (``shared/planning/choose.py``), made on first use. ``in_process_queues``: every sender of run messages is in
    this process and the queues answer exactly (local mode's moto): a worker waiting for a run is woken by the
    send (``SqsRunQueue``)."""
    make = clients or lazy_clients(endpoint_clients(settings.aws_region, settings.aws_endpoint_url))
    repo = DynamoRepository(make("dynamodb"), settings.table_name)
    queue = SqsRunQueue(
        make("sqs"),
        settings.run_queue_name,
        settings.run_dlq_name,
        long_queue_name=settings.long_run_queue_name,
        priority_queues=settings.run_queues(),
        long_priority_queues=settings.long_run_queues(),
        in_process=in_process_queues,
    )
    artifacts: ArtifactStore = S3ArtifactStore(make("s3"), settings.artifact_bucket)
    if links is not None:
        artifacts = SignedLinkArtifacts(artifacts, links)
    events = EventBridgePublisher(make("events"), settings.event_bus_name)
    catalog = Catalog(repo, planner=settings.planner)
    plan_queue = SqsPlanQueue(make("sqs"), settings.plan_queue_name, settings.plan_dlq_name)
    planning = Planning(
        tests=repo,
        runs=repo,
        plans=DynamoPlanStore(make("dynamodb"), settings.table_name),
        planner=planner or ConfiguredPlanner(settings),
        queue=plan_queue,
        events=events,
        catalog=catalog,
        inline=plans_inline(settings) if planner is None else planner.name == "rules",
    )
    runs = RunService(
        tests=repo,
        runs=repo,
        queue=queue,
        events=events,
        artifacts=artifacts,
        limits=RunLimits(
            default_timeout_s=settings.default_run_timeout_s,
            max_timeout_s=settings.max_run_timeout_s,
            presign_ttl_s=settings.presign_ttl_s,
            stale_heartbeat_s=max(settings.heartbeat_s * 4, 60),
            max_retries=settings.max_retries,
            short_lane_limit_s=settings.lambda_run_limit_s if settings.long_run_queue_name else None,
            message_limit_s=settings.run_message_limit_s,
        ),
        links=links,
        planning=planning,
    )
    suites = SuiteService(
        suites=DynamoSuiteStore(make("dynamodb"), settings.table_name),
        tests=repo,
        runs=runs,
        events=events,
        batch_size=settings.suite_batch_size,
    )
    schedules = ScheduleService(
        schedules=DynamoScheduleStore(make("dynamodb"), settings.table_name),
        scheduler=scheduler_of(settings, make),
        tests=repo,
        runs=runs,
        suites=suites,
        catch_up=settings.scheduler_catch_up,
        grace_s=settings.scheduler_grace_s,
    )
    notifications = build_notifications(settings, make, runs=runs, suites=suites, catalog=catalog)
    services = Services(
        projects=Projects(
            repo, bootstrap_key=bootstrap_key_of(settings, make), bootstrap_project=settings.bootstrap_project
        ),
        catalog=catalog,
        runs=runs,
        queue=queue,
        artifacts=artifacts,
        events=events,
        # AWS: Secrets Manager, per project, nothing from the environment (local mode replaces this)
        secrets=Secrets(
            SecretsManagerStore(
                make("secretsmanager"),
                prefix=settings.secrets_prefix,
                recovery_days=settings.secrets_recovery_days,
            )
        ),
        planning=planning,
        plan_queue=plan_queue,
        element_cache=DynamoElementCache(make("dynamodb"), settings.table_name),
        suites=suites,
        event_queue=SqsEventQueue(make("sqs"), *settings.events_queue()[:2]),
        stats=StatsService(tests=repo, runs=repo),
        schedules=schedules,
        notifications=notifications,
        audit=AuditService(
            DynamoAuditStore(make("dynamodb"), settings.table_name), retention_days=settings.audit_retention_days
        ),
    )
    return replace(services, github=build_github(settings, make, services))


def bootstrap_key_of(settings: Settings, make: ClientFactory) -> str | Callable[[], str | None] | None:
    """The bootstrap key (``AUTOTEST_BOOTSTRAP_API_KEY``), or what reads it from the Secrets Manager secret that
    ``AUTOTEST_BOOTSTRAP_API_KEY_SECRET`` names (a deployment's: generated at deploy, never in the template or
    the environment), read when a key is first checked, so functions that check none never read it."""
    if settings.bootstrap_api_key:
        return settings.bootstrap_api_key.get_secret_value()
    secret_id = settings.bootstrap_api_key_secret
    if not secret_id:
        return None

    def read() -> str | None:
        try:
            with translate("read the bootstrap API key"):
                found = make("secretsmanager").get_secret_value(SecretId=secret_id)
        except DomainError as exc:  # the deployment's own secret missing or unreadable: not the caller's fault
            logger.error("cannot read the bootstrap API key", secret=secret_id, error=exc.message)
            raise Unavailable("the API cannot check this key right now; try again") from exc
        value = str(found.get("SecretString") or "").strip()  # a key written from a file ends in a newline
        if not value:
            logger.error("the bootstrap API key's secret holds no text", secret=secret_id)
            raise Unavailable("the API cannot check this key right now; try again")
        return value

    return read


def scheduler_of(settings: Settings, make: ClientFactory) -> Scheduler:
    """EventBridge Scheduler when the scheduler function's ARN is set (AWS); else none (local mode's loop fires)."""
    if not settings.scheduler_target_arn:
        return LocalScheduler()
    if not settings.scheduler_role_arn:
        raise ValueError("AUTOTEST_SCHEDULER_TARGET_ARN is set but AUTOTEST_SCHEDULER_ROLE_ARN is not")
    return EventBridgeScheduler(
        make("scheduler"),
        target_arn=settings.scheduler_target_arn,
        role_arn=settings.scheduler_role_arn,
        dlq_arn=settings.scheduler_dlq_arn,
        group_prefix=settings.scheduler_group_prefix,
    )


def build_notifications(
    settings: Settings, make: ClientFactory, *, runs: RunService, suites: SuiteService | None, catalog: Catalog
) -> NotificationService:
    """Targets and deliveries on the table, the notifier's queue, webhooks sent through the network guard."""

    def guard() -> NetworkGuard:
        return NetworkGuard.from_setting(settings.network_allowlist, settings.network_refused_local_ports)

    return NotificationService(
        store=DynamoNotificationStore(make("dynamodb"), settings.table_name),
        queue=SqsNotificationQueue(make("sqs"), *settings.notify_queue()),
        runs=runs,
        suites=suites,
        catalog=catalog,
        send=WebhookSender(guard, timeout_s=settings.notify_timeout_s).post,
        guard=guard,
        policy=DeliveryPolicy(
            max_attempts=settings.notify_max_attempts,
            backoff_s=settings.notify_backoff_s,
            backoff_cap_s=settings.notify_backoff_cap_s,
            retention_days=settings.notify_retention_days,
            stale_claim_s=int(settings.notify_timeout_s) + 60,
        ),
        public_url=settings.public_url,
    )


def build_github(settings: Settings, make: ClientFactory, services: Services) -> GithubService | None:
    """The GitHub integration: its store on the table, statuses sent by the notifier through the network guard."""
    if services.notifications is None or services.suites is None:
        return None

    def guard() -> NetworkGuard:
        return NetworkGuard.from_setting(settings.network_allowlist, settings.network_refused_local_ports)

    return GithubService(
        store=DynamoGithubStore(make("dynamodb"), settings.table_name),
        suites=services.suites,
        secrets=services.secrets,
        notifications=services.notifications,
        send=WebhookSender(guard, timeout_s=settings.notify_timeout_s).post,
        guard=guard,
        public_url=settings.public_url,
        dedupe_s=settings.github_dedupe_s,
    )


@lru_cache
def get_services() -> Services:
    return build_services(get_settings())
