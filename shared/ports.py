"""Ports: what the services need from the outside world. ``shared/aws`` implements them with
boto3; tests pass in-memory fakes (``tests/fakes.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from shared.models.audit import AuditQuery, AuditRecord
from shared.models.events import Event
from shared.models.github import GithubIntegration
from shared.models.messages import PlanMessage, ReceivedMessage, RunMessage
from shared.models.notifications import Delivery, DeliveryMessage, NotificationTarget
from shared.models.pages import Page
from shared.models.planning import CachedElement, HealProposal, HealRequest, PlanOutcome, PlanProposal, PlanRequest
from shared.models.priority import Priority
from shared.models.projects import ApiKey, Project
from shared.models.queries import RunQuery, TestQuery
from shared.models.runs import Run, RunControl, RunRow, RunStatus
from shared.models.schedules import MirroredSchedule, Schedule
from shared.models.secrets import SecretInfo
from shared.models.suites import Suite, SuiteRun
from shared.models.tests import Revision, TestCase


class ProjectStore(Protocol):
    def put_project(self, project: Project) -> None:
        """Create a project; Conflict if the id exists."""

    def get_project(self, project_id: str) -> Project:
        """NotFound if missing."""

    def put_api_key(self, key: ApiKey) -> None: ...

    def get_api_key(self, key_hash: str) -> ApiKey | None: ...

    def list_api_keys(self, project_id: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        """A project's keys, oldest first."""

    def touch_api_key(self, key: ApiKey, when: datetime) -> None:
        """Record that ``key`` was used at ``when``; Conflict if it was deleted meanwhile (never recreated)."""

    def delete_api_key(self, key: ApiKey, *, keep: ApiKey | None = None) -> None:
        """Delete the key at once; Conflict if it is already gone. With ``keep`` (another key), only while that
        key still exists, checked in the same atomic write (Conflict otherwise): two revokes at once of the last
        two admin keys, each keeping the other, cannot both succeed."""


class TestStore(Protocol):
    def create_test(self, test: TestCase, revision: Revision) -> None:
        """Write the test and revision 1 together."""

    def get_test(self, project_id: str, test_id: str) -> TestCase:
        """NotFound if missing or in another project."""

    def update_test(self, test: TestCase, fields: Iterable[str]) -> None:
        """Write the named test-level ``fields`` (name, tags, description, status) and
        ``updated_at``; leave everything else, including concurrent changes, alone."""

    def add_revision(self, test: TestCase, revision: Revision) -> None:
        """Write ``revision`` and bump the test's latest revision to it, on the condition that the
        stored latest revision is still ``revision.revision - 1``; Conflict otherwise."""

    def get_revision(self, project_id: str, test_id: str, number: int) -> Revision: ...

    def list_revisions(self, project_id: str, test_id: str, *, limit: int, cursor: str | None) -> Page[Revision]: ...

    def list_tests(self, query: TestQuery) -> Page[TestCase]: ...


class RunStore(Protocol):
    def create_run(self, run: Run) -> None:
        """Conflict if a run has the id (of any project: run ids are global)."""

    def get_run(self, run_id: str) -> Run:
        """NotFound if missing. Not project-scoped: the service checks the project."""

    def update_run(
        self,
        run_id: str,
        changes: dict[str, Any],
        *,
        expected_status: RunStatus | None = None,
        expected_attempt: int | None = None,
        condition_heartbeat_before: str | None = None,
        project_id: str | None = None,
    ) -> Run:
        """Conditionally write ``changes`` (field -> value, already JSON-able) and return the
        new run. Conflict when the run is not in ``expected_status`` / ``expected_attempt``.
        ``project_id``, when the caller knows it, saves the store reading it for a status change."""

    def write_run(
        self, run_id: str, changes: dict[str, Any], *, expected_status: RunStatus, expected_attempt: int
    ) -> None:
        """As :meth:`update_run` for a non-status write (step progress), reading nothing back: the caller holds
        the run and needs nothing of it. Conflict when the run is not in ``expected_status`` /
        ``expected_attempt``."""

    def get_run_control(self, run_id: str) -> RunControl:
        """The few fields a runner that holds the run polls (status, attempt, cancel requested): a small read.
        NotFound if missing."""

    def list_runs(self, query: RunQuery) -> Page[Run]: ...

    def list_run_rows(self, query: RunQuery) -> Page[RunRow]:
        """As :meth:`list_runs` (the same filters, order and cursors), each run's :class:`RunRow` fields only."""
        ...


class RunQueue(Protocol):
    """The run queues, one per priority: ``receive`` takes high before normal before low; ``delete`` and
    ``extend`` take the priority of the message the receipt is of (the queue it came from)."""

    def send(self, message: RunMessage, *, delay_s: int = 0) -> None: ...

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]: ...

    def delete(self, receipt: str, *, priority: Priority = "normal") -> None: ...

    def extend(self, receipt: str, visibility_timeout_s: int, *, priority: Priority = "normal") -> None: ...

    def redrive_dead_letters(self, max_messages: int = 100) -> int:
        """Move messages from the DLQ back to the queue; returns how many moved."""

    def receive_dead_letters(self, *, max_messages: int = 10, visibility_timeout_s: int = 60) -> list[ReceivedMessage]:
        """Messages that exhausted their deliveries (no wait); hidden for ``visibility_timeout_s``."""

    def delete_dead_letter(self, receipt: str) -> None: ...


class EventQueue(Protocol):
    """A queue an EventBridge rule fills with events (bodies: EventBridge envelopes), read by an event consumer."""

    def receive(
        self, *, max_messages: int = 10, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]: ...

    def delete(self, receipt: str) -> None: ...


class PlanQueue(Protocol):
    """The planner worker's queue: proposals to fill and goal-only runs to plan (SQS, with a dead-letter queue)."""

    def send(self, message: PlanMessage) -> None: ...

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]: ...

    def delete(self, receipt: str) -> None: ...


@dataclass(frozen=True)
class StoredArtifact:
    data: bytes
    content_type: str


class ArtifactStore(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    def put_file(self, key: str, path: Path, *, content_type: str) -> None: ...

    def get(self, key: str) -> bytes:
        """NotFound if missing."""

    def read(self, key: str) -> StoredArtifact:
        """The object's bytes and the content type it was stored with; NotFound if missing."""

    def presigned_url(self, key: str, *, ttl_s: int) -> str:
        """A link that opens the object without an API key, for ``ttl_s`` seconds."""


@dataclass(frozen=True)
class LinkGrant:
    """What a checked artifact link lets its holder read: the artifacts of one attempt of one run."""

    project_id: str
    run_id: str
    attempt: int
    expires: int  # unix time


class ArtifactLinkChecker(Protocol):
    def check(self, token: str) -> LinkGrant:
        """The grant a link's token carries; Forbidden when its signature is wrong or it expired."""


class EventBus(Protocol):
    def publish(self, event: Event) -> None: ...


class SecretStore(Protocol):
    """Secrets stored per project. Names and values arrive checked (``shared/services/secrets.py``);
    a store never hands one project's secret to another."""

    def put(self, project_id: str, name: str, value: str) -> SecretInfo:
        """Create or replace the project's secret; durable when this returns."""

    def get(self, project_id: str, name: str) -> str | None:
        """The project's secret's value, or None when the project has no such secret."""

    def list(self, project_id: str) -> list[SecretInfo]:
        """The project's secrets (never their values), sorted by name."""

    def delete(self, project_id: str, name: str) -> None:
        """Remove the project's secret; NotFound when it has none of that name."""


class SecretSource(Protocol):
    """A read-only, deployment-wide source of secrets (local mode's environment variables and secrets
    file); the secrets service lets only the bootstrap project use it."""

    def get(self, name: str) -> str | None:
        """The secret's value, or None when it is not defined."""

    def names(self) -> list[str]:
        """The names it defines, sorted."""


class Planner(Protocol):
    """Turns a plain-English goal into a step plan (``shared/planning``: the sentence grammar; Bedrock)."""

    name: str

    def plan(self, request: PlanRequest) -> PlanOutcome:
        """A valid plan; :class:`~shared.models.planning.PlanFailed` saying why when there is none."""


class Healer(Protocol):
    """Proposes replacements for a target that no longer resolves, from the page's elements. The runner verifies
    every proposal before acting on it."""

    name: str

    def propose(self, request: HealRequest) -> list[HealProposal]:
        """Candidates, best first (possibly none)."""


class ElementCache(Protocol):
    """Resolved targets remembered per test, step and page (DynamoDB, expiring by TTL)."""

    def get(self, project_id: str, test_id: str, step_key: str, page_key: str) -> CachedElement | None: ...

    def put(self, entry: CachedElement) -> None: ...

    def delete(self, project_id: str, test_id: str, step_key: str, page_key: str) -> None: ...


class PlanStore(Protocol):
    """Plan proposals, and plans cached per spec content hash."""

    def put_proposal(self, proposal: PlanProposal) -> None: ...

    def get_proposal(self, project_id: str, proposal_id: str) -> PlanProposal:
        """NotFound if missing or in another project."""

    def update_proposal(self, proposal: PlanProposal, *, expected_status: str) -> None:
        """Write the whole proposal on the condition that its stored status is ``expected_status``; Conflict
        otherwise."""

    def get_cached_plan(self, project_id: str, content_hash: str) -> PlanOutcome | None: ...

    def put_cached_plan(self, project_id: str, content_hash: str, outcome: PlanOutcome) -> None: ...


class SuiteStore(Protocol):
    """Suites and suite runs, per project. Every suite-run write is conditional on the ``version`` the writer
    read (the store bumps it)."""

    def put_suite(self, suite: Suite) -> None:
        """Create a suite; Conflict when the project has a suite of the same name (case-insensitive)."""

    def get_suite(self, project_id: str, suite_id: str) -> Suite:
        """NotFound if missing or in another project."""

    def replace_suite(self, suite: Suite, *, previous_name: str) -> Suite:
        """Write the whole suite on the condition that the stored ``version`` is ``suite.version``; returns it with
        ``version + 1``. Conflict with ``details={"stale": True}`` when another writer got there first, plain
        Conflict when a rename takes a name another suite has; NotFound when it is gone."""

    def delete_suite(self, project_id: str, suite_id: str) -> None:
        """NotFound if missing. Its suite runs stay."""

    def list_suites(self, project_id: str, *, limit: int, cursor: str | None) -> Page[Suite]:
        """By name."""

    def find_suite(self, project_id: str, name: str) -> Suite | None:
        """The project's suite of this name (case-insensitive), or None."""

    def create_suite_run(self, run: SuiteRun) -> None: ...

    def get_suite_run(self, project_id: str, suite_run_id: str) -> SuiteRun:
        """NotFound if missing or in another project (a consistent read)."""

    def update_suite_run(self, run: SuiteRun) -> SuiteRun:
        """Write the whole suite run on the condition that the stored ``version`` is ``run.version``; returns it
        with ``version + 1``. Conflict when another writer got there first."""

    def list_suite_runs(
        self,
        project_id: str,
        *,
        suite_id: str | None,
        limit: int,
        cursor: str | None,
        labels: dict[str, str] | None = None,
    ) -> Page[SuiteRun]:
        """Newest first; of one suite, or of the project; with ``labels``, those carrying every one of them."""


class ScheduleStore(Protocol):
    """Schedules, per project. Every write but the first is conditional on the ``version`` the writer read (the
    store bumps it)."""

    def put_schedule(self, schedule: Schedule) -> None:
        """Create a schedule; Conflict if the id exists."""

    def get_schedule(self, project_id: str, schedule_id: str) -> Schedule:
        """NotFound if missing or in another project (a consistent read)."""

    def replace_schedule(self, schedule: Schedule) -> Schedule:
        """Write the whole schedule on the condition that the stored ``version`` is ``schedule.version``; returns
        it with ``version + 1``. Conflict when another writer got there first; NotFound when it is gone."""

    def delete_schedule(self, project_id: str, schedule_id: str) -> None:
        """NotFound if missing."""

    def list_schedules(self, project_id: str, *, limit: int, cursor: str | None) -> Page[Schedule]:
        """Oldest first."""

    def due_schedules(self, now: datetime, *, limit: int) -> list[Schedule]:
        """Enabled schedules of every project whose ``next_fire_at`` is at or before ``now``, soonest first (an
        index lookup, not a scan)."""


class Scheduler(Protocol):
    """The schedules that fire in AWS (EventBridge Scheduler), kept in step with the stored ones. Every call is
    an upsert or idempotent: making it again after a failure is safe."""

    def put(self, schedule: Schedule, *, start_at: datetime | None) -> None:
        """Create or update the AWS schedule of ``schedule`` (enabled or disabled as it is). ``start_at``: a rate
        schedule's first fire time, so AWS counts its intervals from where the stored one does."""

    def delete(self, project_id: str, schedule_id: str) -> None:
        """Remove it; nothing when it is not there."""

    def get(self, project_id: str, schedule_id: str) -> MirroredSchedule | None:
        """What AWS holds for it, or None."""


class NotificationStore(Protocol):
    """Notification targets (per project) and their deliveries (per target, newest first: a delivery's id
    starts with its event's time). Deliveries expire (``expires_at``); readers skip expired ones."""

    def put_target(self, target: NotificationTarget) -> None:
        """Create a target; Conflict if the id exists."""

    def get_target(self, project_id: str, target_id: str) -> NotificationTarget:
        """NotFound if missing or in another project."""

    def list_targets(self, project_id: str, *, limit: int, cursor: str | None) -> Page[NotificationTarget]:
        """Oldest first."""

    def delete_target(self, project_id: str, target_id: str) -> None:
        """NotFound if missing or in another project. Its deliveries stay until they expire."""

    def create_delivery(self, delivery: Delivery) -> bool:
        """Record a new delivery; False (and nothing written) when one of this id exists: the event came twice."""

    def get_delivery(self, target_id: str, delivery_id: str) -> Delivery:
        """NotFound if missing."""

    def update_delivery(self, delivery: Delivery, *, expected_attempt: int) -> None:
        """Write the whole delivery on the condition that the stored one is on ``expected_attempt`` and
        ``pending``; Conflict otherwise (another copy of the message got there first)."""

    def list_deliveries(self, target_id: str, *, limit: int, cursor: str | None) -> Page[Delivery]:
        """Newest first, expired ones left out."""


class NotificationQueue(Protocol):
    """The notifier's queue (SQS, with a dead-letter queue): EventBridge puts run and suite-run events on it,
    the notifier its delivery attempts (retries with a delay)."""

    def send(self, message: DeliveryMessage, *, delay_s: int = 0) -> None: ...

    def receive(
        self, *, max_messages: int = 1, wait_s: int = 10, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]: ...

    def delete(self, receipt: str) -> None: ...


class AuditStore(Protocol):
    """The audit log, per project: append-only (no update, no delete: records expire through the table's TTL,
    ``expires_at``). A store never shows one project's records to another."""

    def append(self, record: AuditRecord) -> None:
        """Store a new record; Conflict (and nothing written) when one of its id exists: never overwrites."""

    def list_records(self, query: AuditQuery) -> Page[AuditRecord]:
        """The project's records, newest first, matching every filter given (``resource_kind``, with
        ``resource_id``; ``actor``: a key id; ``since``: at or after), expired ones left out. A cursor of another
        query is InvalidInput."""


class GithubStore(Protocol):
    """Each project's GitHub integration (one at most), and the webhook deliveries already handled (each kept
    until ``expires_at``, unix time, so a replay within that time starts nothing)."""

    def put_integration(self, integration: GithubIntegration) -> None:
        """Create or replace the project's integration."""

    def get_integration(self, project_id: str) -> GithubIntegration | None:
        """The project's integration, or None."""

    def delete_integration(self, project_id: str) -> None:
        """NotFound when the project has none."""

    def claim_webhook_delivery(self, project_id: str, delivery_id: str, *, expires_at: int) -> bool:
        """Record that this delivery is being handled; False (nothing written) when it was claimed before and
        its claim has not expired."""

    def release_webhook_delivery(self, project_id: str, delivery_id: str) -> None:
        """Forget a claim (its handling failed: GitHub's redelivery may try again); nothing when there is none."""
