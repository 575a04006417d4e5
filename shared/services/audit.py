"""The audit log's rules: what a record holds, how long it is kept, how it is listed, and what happens when it
cannot be stored.

Every write made through the API or the dashboard appends one record *after* the change succeeded (a change
that failed changed nothing, so it has none), through an :class:`AuditRecorder` bound to the request's
principal and origin (``functions/api/deps.py`` ``AuditDep``). Reads append nothing.

**When the record cannot be stored** (the store failed after botocore's own retries), the change stands and
the caller gets its answer: undoing a change already made (a secret already in Secrets Manager, a run already
queued) is not possible in general, and answering an error for a change that was made would have the caller
make it again (two tests, two runs). The record is not lost and not silent, though: it is written in full to
the error log (``audit record not stored``, with ``audit_unrecorded: true`` and every field, for a metric
filter or a log search), and the response carries ``X-Audit-Unrecorded: <record id>`` so the caller knows.

**An import** appends one record per test it saved (action ``import.postman`` / ``import.openapi``, resource the
test, revision 1), as each is saved: a test's history starts with the import that made it (``resource=test:<id>``
finds it), an import stopped half-way has its saved tests audited, and the records of one import share the
request's correlation id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.errors import InvalidInput
from shared.ids import new_id, utcnow
from shared.models.audit import (
    MAX_USER_AGENT_CHARS,
    RESOURCE_KINDS,
    AuditAction,
    AuditQuery,
    AuditRecord,
    DetailValue,
    ResourceKind,
)
from shared.models.pages import Page
from shared.models.projects import Principal
from shared.observability import logger
from shared.ports import AuditStore

#: a resource id in a filter: an object id (``tst_...``) or a secret's name
_RESOURCE_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
RESOURCE_RULE = (
    "a resource is a kind (" + ", ".join(RESOURCE_KINDS) + ") or a kind and an id as KIND:ID (`test:tst_01J...`)"
)


@dataclass(frozen=True)
class AuditOrigin:
    """Where a request came from: its source IP, its User-Agent and its correlation id."""

    source_ip: str | None = None
    user_agent: str | None = None
    correlation_id: str | None = None


def parse_resource(text: str | None) -> tuple[ResourceKind | None, str | None]:
    """A ``resource`` filter (``KIND`` or ``KIND:ID``) as ``(kind, id)``; InvalidInput saying why otherwise."""
    if text is None or text == "":
        return None, None
    kind, colon, resource_id = text.partition(":")
    if kind not in RESOURCE_KINDS or (colon and not _RESOURCE_ID.fullmatch(resource_id)):
        raise InvalidInput(f"query.resource: {text!r}: {RESOURCE_RULE}", details={"field": "resource"})
    return kind, resource_id or None


class AuditService:
    """Builds records, appends them, lists them. ``retention_days``: how long a record is kept (its
    ``expires_at``: the table's TTL removes it then, and lists leave it out from then on)."""

    def __init__(self, store: AuditStore, *, retention_days: int = 365, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self.retention_days = retention_days
        self._clock = clock

    def build(
        self,
        principal: Principal,
        origin: AuditOrigin,
        action: AuditAction,
        kind: ResourceKind,
        resource_id: str,
        *,
        revision: int | None = None,
        details: Mapping[str, DetailValue] | None = None,
    ) -> AuditRecord:
        now = self._clock()
        agent = origin.user_agent[:MAX_USER_AGENT_CHARS] if origin.user_agent else None
        return AuditRecord(
            id=new_id("aud"),
            project_id=principal.project_id,
            at=now,
            action=action,
            resource_kind=kind,
            resource_id=resource_id,
            revision=revision,
            key_id=principal.key_id,
            key_name=principal.key_name,
            role=principal.role,
            source_ip=origin.source_ip,
            user_agent=agent,
            correlation_id=origin.correlation_id,
            details=dict(details or {}),
            expires_at=int((now + timedelta(days=self.retention_days)).timestamp()),
        )

    def append(self, record: AuditRecord) -> None:
        self._store.append(record)

    def list_records(
        self,
        project_id: str,
        *,
        resource: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[AuditRecord]:
        """The project's records, newest first, filtered by ``resource`` (``KIND`` or ``KIND:ID``), ``actor`` (a
        key id) and ``since`` (at or after)."""
        kind, resource_id = parse_resource(resource)
        if since is not None and since.tzinfo is None:  # a time without a zone is UTC, as the records' times are
            since = since.replace(tzinfo=UTC)
        query = AuditQuery(
            project_id=project_id,
            resource_kind=kind,
            resource_id=resource_id,
            actor=actor or None,
            since=since,
            limit=limit,
            cursor=cursor,
        )
        return self._store.list_records(query)

    def recorder(
        self, principal: Principal, origin: AuditOrigin, *, on_unrecorded: Callable[[AuditRecord], None] | None = None
    ) -> AuditRecorder:
        return AuditRecorder(self, principal, origin, on_unrecorded=on_unrecorded)


class AuditRecorder:
    """The audit log as one request sees it: bound to its principal (the record's project and actor) and its
    origin, so a route adds one line after its change succeeded::

        audit.record("test.create", "test", test.id, revision=1)

    ``record`` never raises: a record that cannot be stored is logged in full, ``on_unrecorded`` is told (the
    API puts the record's id in the ``X-Audit-Unrecorded`` header), and None is returned (see the module's
    docstring). With no service (a deployment wired without the audit log: some tests), it records nothing."""

    def __init__(
        self,
        service: AuditService | None,
        principal: Principal,
        origin: AuditOrigin,
        *,
        on_unrecorded: Callable[[AuditRecord], None] | None = None,
    ) -> None:
        self._service = service
        self.principal = principal
        self.origin = origin
        self._on_unrecorded = on_unrecorded

    def record(
        self,
        action: AuditAction,
        kind: ResourceKind,
        resource_id: str,
        *,
        revision: int | None = None,
        details: Mapping[str, DetailValue] | None = None,
    ) -> AuditRecord | None:
        """Append the record of a change that succeeded; the stored record, or None when it could not be."""
        if self._service is None:
            return None
        record = self._service.build(
            self.principal, self.origin, action, kind, resource_id, revision=revision, details=details
        )
        try:
            self._service.append(record)
        except Exception as exc:
            logger.error(
                "audit record not stored",
                audit_unrecorded=True,
                audit_record=record.model_dump(mode="json"),
                error=f"{type(exc).__name__}: {exc}",
            )
            if self._on_unrecorded is not None:
                self._on_unrecorded(record)
            return None
        return record
