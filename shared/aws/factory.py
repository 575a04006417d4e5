"""Wire the AWS adapters into ``Services``, once per process."""

from __future__ import annotations

from functools import lru_cache

from shared.aws.clients import ClientFactory, endpoint_clients
from shared.aws.dynamodb import DynamoElementCache, DynamoPlanStore, DynamoRepository, DynamoSuiteStore
from shared.aws.eventbridge import EventBridgePublisher
from shared.aws.s3 import S3ArtifactStore
from shared.aws.secrets import SecretsManagerStore
from shared.aws.sqs import SqsEventQueue, SqsPlanQueue, SqsRunQueue
from shared.planning.choose import ConfiguredPlanner, plans_inline
from shared.ports import ArtifactStore, Planner
from shared.services.artifact_links import ArtifactLinkSigner, SignedLinkArtifacts
from shared.services.catalog import Catalog
from shared.services.container import Services
from shared.services.planning import Planning
from shared.services.projects import Projects
from shared.services.runs import RunLimits, RunService
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
) -> Services:
    """``clients`` makes the boto3 client of a service (default: ``settings``' region and endpoint; local
    mode hands in its journaled in-process clients). With ``links``, artifact links are the API's own
    signed links (local mode) instead of presigned S3 URLs. ``planner``: default, the one ``settings.planner``
    names (``shared/planning/choose.py``), made on first use."""
    make = clients or endpoint_clients(settings.aws_region, settings.aws_endpoint_url)
    repo = DynamoRepository(make("dynamodb"), settings.table_name)
    queue = SqsRunQueue(make("sqs"), settings.run_queue_name, settings.run_dlq_name)
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
    bootstrap = settings.bootstrap_api_key.get_secret_value() if settings.bootstrap_api_key else None
    return Services(
        projects=Projects(repo, bootstrap_key=bootstrap, bootstrap_project=settings.bootstrap_project),
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
    )


@lru_cache
def get_services() -> Services:
    return build_services(get_settings())
