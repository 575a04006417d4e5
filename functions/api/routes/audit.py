"""The audit log of the calling project: ``/v1/audit`` (admin keys; records are written by the write routes
through ``deps.AuditDep``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from functions.api.deps import AdminDep, ServicesDep
from shared.errors import Unavailable
from shared.models.audit import AuditRecordPublic
from shared.models.pages import Page

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get(
    "",
    response_model=Page[AuditRecordPublic],
    summary="List the calling project's audit records, newest first",
    description="Every write made through the API or the dashboard, with who made it, from where and when. "
    "Filters combine (each record returned matches all of them); reads are not recorded.",
)
def list_audit(
    principal: AdminDep,
    services: ServicesDep,
    resource: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Only records of this resource: a kind (`test`, `plan`, `run`, `suite`, `suite_run`, "
            "`schedule`, `secret`, `notification`, `key`, `project`) or a kind and an id as `KIND:ID` "
            "(`test:tst_01J...`, `secret:ADMIN_PASSWORD`).",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z0-9_-]{1,64}$",
            description="Only the records of writes made with this API key: its id (`key_...`, or `bootstrap`).",
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        Query(
            description="Only records at or after this time (ISO 8601, e.g. `2026-01-31T09:00:00Z`; UTC when it "
            "names no zone)."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="How many records a page holds at most (1 to 200).")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=2000, description="The previous page's `next_cursor`, for the next page. Default: the first."),
    ] = None,
) -> Page[AuditRecordPublic]:
    if services.audit is None:
        raise Unavailable("this deployment has no audit log configured")
    page = services.audit.list_records(
        principal.project_id, resource=resource, actor=actor, since=since, limit=limit, cursor=cursor
    )
    return Page[AuditRecordPublic](items=[AuditRecordPublic.of(r) for r in page.items], next_cursor=page.next_cursor)
