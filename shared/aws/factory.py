"""Wire the AWS adapters into ``Services``, once per process."""

from __future__ import annotations

from functools import lru_cache

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoRepository
from shared.aws.eventbridge import EventBridgePublisher
from shared.aws.s3 import S3ArtifactStore
from shared.aws.secrets import SecretsManagerStore
from shared.aws.sqs import SqsRunQueue
from shared.services.catalog import Catalog
from shared.services.container import Services
from shared.services.projects import Projects
from shared.services.runs import RunLimits, RunService
from shared.services.secrets import Secrets
from shared.settings import Settings, get_settings


def build_services(settings: Settings) -> Services:
    region, endpoint = settings.aws_region, settings.aws_endpoint_url
    repo = DynamoRepository(client("dynamodb", region, endpoint), settings.table_name)
    queue = SqsRunQueue(client("sqs", region, endpoint), settings.run_queue_name, settings.run_dlq_name)
    artifacts = S3ArtifactStore(client("s3", region, endpoint), settings.artifact_bucket)
    events = EventBridgePublisher(client("events", region, endpoint), settings.event_bus_name)
    bootstrap = settings.bootstrap_api_key.get_secret_value() if settings.bootstrap_api_key else None
    return Services(
        projects=Projects(repo, bootstrap_key=bootstrap, bootstrap_project=settings.bootstrap_project),
        catalog=Catalog(repo),
        runs=RunService(
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
        ),
        queue=queue,
        artifacts=artifacts,
        events=events,
        # AWS: Secrets Manager, per project, nothing from the environment (local mode replaces this)
        secrets=Secrets(
            SecretsManagerStore(
                client("secretsmanager", region, endpoint),
                prefix=settings.secrets_prefix,
                recovery_days=settings.secrets_recovery_days,
            )
        ),
    )


@lru_cache
def get_services() -> Services:
    return build_services(get_settings())
