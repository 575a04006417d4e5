"""The audit log: one record for every write made through the API or the dashboard (who, what, when, from
where), kept per project, append-only, expiring after the deployment's retention (``shared/services/audit.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from shared.models.common import Model
from shared.models.projects import Role

AuditAction = Literal[
    "test.create",
    "test.update",
    "test.archive",
    "revision.create",
    "plan.request",
    "plan.accept",
    "heal.accept",
    "suite.create",
    "suite.update",
    "suite.delete",
    "suite_run.start",
    "suite_run.cancel",
    "run.start",
    "run.cancel",
    "schedule.create",
    "schedule.update",
    "schedule.delete",
    "secret.put",
    "secret.delete",
    "notification.create",
    "notification.delete",
    "key.create",
    "key.delete",
    "project.create",
    "import.postman",
    "import.openapi",
    "integration.update",
    "integration.delete",
    "suite_run.start_by_webhook",
]
"""What was done: `<resource kind>.<verb>` (`import.postman` and `import.openapi` are the creation of a test by
an import: one record for each test it saved; `suite_run.start_by_webhook` a suite run GitHub's webhook started,
its actor `github`, with the delivery id)."""

ResourceKind = Literal[
    "test", "plan", "run", "suite", "suite_run", "schedule", "secret", "notification", "key", "project", "integration"
]
"""What kind of thing was changed."""

RESOURCE_KINDS: tuple[ResourceKind, ...] = get_args(ResourceKind)

#: a detail's value: a short text, a number, a flag or a list of names
DetailValue = str | int | bool | list[str] | None

#: the most characters of a User-Agent header kept (the rest is cut: a record stays small)
MAX_USER_AGENT_CHARS = 512


class AuditRecord(Model):
    """A stored audit record (its public form is :class:`AuditRecordPublic`). Never updated, never deleted by
    the application: DynamoDB's TTL removes it at ``expires_at``."""

    id: str
    """The record's id (`aud_...`), sortable by time."""
    project_id: str
    """The project whose log it is in: the calling key's."""
    at: datetime
    """When the change was made (UTC)."""
    action: AuditAction
    resource_kind: ResourceKind
    resource_id: str
    revision: int | None = None
    key_id: str
    key_name: str = ""
    role: Role = "viewer"
    source_ip: str | None = None
    user_agent: str | None = None
    correlation_id: str | None = None
    details: dict[str, DetailValue] = {}
    #: unix seconds: the table's TTL attribute
    expires_at: int = 0


class AuditRecordPublic(Model):
    """One write to the project: who made it (the API key's id, name and role), what it was (the action and the
    resource it changed, with the revision where there is one), when, from where (source IP and User-Agent) and
    the request's correlation id (`X-Correlation-Id`). Records are append-only: nothing changes or deletes one;
    each expires after the deployment's retention (`AUTOTEST_AUDIT_RETENTION_DAYS`, 365 days by default)."""

    id: str
    """The record's id (`aud_...`), sortable by time."""
    at: datetime
    """When the change was made (UTC, ISO 8601)."""
    action: AuditAction
    """What was done: `<kind>.<verb>`, e.g. `test.create`, `revision.create`, `run.start`, `secret.put`,
    `key.create`; `import.postman` / `import.openapi`: a test an import saved (one record per test)."""
    resource_kind: ResourceKind
    """The kind of thing changed: `test`, `plan`, `run`, `suite`, `suite_run`, `schedule`, `secret`,
    `notification`, `key` or `project`."""
    resource_id: str
    """Its id (`tst_...`, `run_...`); for a secret, its NAME (never its value)."""
    revision: int | None = None
    """The test's revision the change made or used (`test.create`: 1; `revision.create`, `plan.accept`,
    `heal.accept`: the new one; `run.start`: the one run), or null."""
    key_id: str
    """The API key that made the change (`key_...`; `bootstrap` for the deployment's bootstrap key)."""
    key_name: str = ""
    """That key's name when the change was made."""
    role: Role = "viewer"
    """That key's role when the change was made."""
    source_ip: str | None = None
    """The caller's address (behind API Gateway: the source IP it saw), or null when unknown."""
    user_agent: str | None = None
    """The request's `User-Agent` (at most 512 characters), or null."""
    correlation_id: str | None = None
    """The request's correlation id (its `X-Correlation-Id`, or the one the API gave it): the same in the
    API's logs and in what the change queued (runs, plans)."""
    details: dict[str, DetailValue] = {}
    """A few facts about the change, by action (never a secret's value): `test.update`: the `fields` changed;
    `key.create`: the new key's `name` and `role`; `run.start`: its `test_id`; `suite_run.start`: its
    `suite_id`; `plan.request`: its `test_id`; `plan.accept`: the `plan_id`; `heal.accept`: the `run_id`."""

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordPublic:
        return cls(**record.model_dump(exclude={"project_id", "expires_at"}))


class AuditQuery(Model):
    """What ``GET /v1/audit`` asks the store for (checked by the audit service)."""

    project_id: str
    resource_kind: ResourceKind | None = None
    #: only with ``resource_kind``
    resource_id: str | None = None
    #: a key id
    actor: str | None = None
    since: datetime | None = None
    limit: int = 50
    cursor: str | None = None
