"""The services one process needs, wired once (see ``shared/aws/factory.py`` for the AWS wiring)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.ports import ArtifactStore, ElementCache, EventBus, EventQueue, PlanQueue, RunQueue
from shared.services.audit import AuditService
from shared.services.catalog import Catalog
from shared.services.github import GithubService
from shared.services.notifications import NotificationService
from shared.services.planning import Planning
from shared.services.projects import Projects
from shared.services.runs import RunService
from shared.services.schedules import ScheduleService
from shared.services.secrets import Secrets
from shared.services.stats import StatsService
from shared.services.suites import SuiteService


@dataclass(frozen=True)
class Services:
    projects: Projects
    catalog: Catalog
    runs: RunService
    queue: RunQueue
    artifacts: ArtifactStore
    events: EventBus
    secrets: Secrets
    #: plan proposals, the plan cache, accepting plans and heals (None: goal-only tests cannot run)
    planning: Planning | None = None
    #: the planner worker's queue (plan requests for proposals and goal-only runs)
    plan_queue: PlanQueue | None = None
    #: the runner's element cache (resolved and healed targets per test, step and page)
    element_cache: ElementCache | None = None
    #: suites and suite runs (their aggregation runs on ``Run Status Changed`` events: ``functions/events``)
    suites: SuiteService | None = None
    #: the events function's queue (``Run Status Changed`` events, through an EventBridge rule)
    event_queue: EventQueue | None = None
    #: run statistics of tests, the flakiest tests (None: the stats routes answer 503)
    stats: StatsService | None = None
    #: schedules (fired by EventBridge Scheduler through ``functions/scheduler``, or by local mode's loop)
    schedules: ScheduleService | None = None
    #: notification targets and their deliveries (sent by the notifier: ``functions/notifications``)
    notifications: NotificationService | None = None
    #: the audit log: one record per write through the API or the dashboard (None: nothing is recorded, and
    #: ``GET /v1/audit`` answers 503; every deployment and local mode wire it)
    audit: AuditService | None = None
    #: the GitHub integration: webhooks start suites, suite runs post commit statuses (through the notifier)
    github: GithubService | None = None
