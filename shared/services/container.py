"""The services one process needs, wired once (see ``shared/aws/factory.py`` for the AWS wiring)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.ports import ArtifactStore, EventBus, RunQueue
from shared.services.catalog import Catalog
from shared.services.projects import Projects
from shared.services.runs import RunService
from shared.services.secrets import Secrets


@dataclass(frozen=True)
class Services:
    projects: Projects
    catalog: Catalog
    runs: RunService
    queue: RunQueue
    artifacts: ArtifactStore
    events: EventBus
    secrets: Secrets
