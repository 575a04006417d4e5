"""Runs: ``/v1/runs``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from functions.api import examples
from functions.api.deps import AuditDep, CorrelationDep, RunIdPath, RunnerDep, ServicesDep, ViewerDep, label_filters
from shared.models.pages import Page
from shared.models.queries import RunQuery, RunSort
from shared.models.runs import ArtifactList, RunCreate, RunPublic, RunStatus, Trigger

router = APIRouter(prefix="/v1/runs", tags=["runs"])


@router.post("", status_code=202, response_model=RunPublic, summary="Start a run of a test or an inline spec")
def start_run(
    body: Annotated[RunCreate, Body(openapi_examples=examples.RUN_CREATE)],
    principal: RunnerDep,
    services: ServicesDep,
    correlation_id: CorrelationDep,
    audit: AuditDep,
    response: Response,
) -> RunPublic:
    run = services.runs.start_run(principal.project_id, body, correlation_id=correlation_id)
    audit.record("run.start", "run", run.id, revision=run.revision, details={"test_id": run.test_id})
    response.headers["Location"] = f"/v1/runs/{run.id}"
    return RunPublic.of(run)


@router.get("", response_model=Page[RunPublic], summary="List runs, newest first by default")
def list_runs(
    principal: ViewerDep,
    services: ServicesDep,
    test_id: Annotated[str | None, Query(max_length=64, description="Only the runs of this test (`tst_...`).")] = None,
    suite_run_id: Annotated[
        str | None, Query(max_length=64, description="Only the runs of this suite run (reserved for suites).")
    ] = None,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status. Default: any.")] = None,
    trigger: Annotated[
        Trigger | None, Query(description="Only runs started this way: `api`, `cli`, `suite` or `schedule`.")
    ] = None,
    since: Annotated[
        datetime | None,
        Query(description="Only runs created at or after this time (ISO 8601, e.g. `2026-01-31T09:00:00Z`)."),
    ] = None,
    label: Annotated[
        list[str] | None,
        Query(
            max_length=20,
            description="Only runs with this label, as `key:value` (`app_version:1.4.2`); repeatable, every one "
            "must match (up to 20).",
        ),
    ] = None,
    sort: Annotated[
        RunSort, Query(description="`-created` (default): newest first; `created`: oldest first.")
    ] = "-created",
    limit: Annotated[int, Query(ge=1, le=200, description="How many runs a page holds at most (1 to 200).")] = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="The previous page's `next_cursor`, for the next page. Default: the first page.",
        ),
    ] = None,
) -> Page[RunPublic]:
    query = RunQuery(
        project_id=principal.project_id,
        test_id=test_id,
        suite_run_id=suite_run_id,
        status=status,
        trigger=trigger,
        since=since,
        labels=label_filters(label or []),
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    page = services.runs.list_runs(query)
    return Page[RunPublic](items=[RunPublic.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{run_id}", response_model=RunPublic, summary="Status and step results of a run")
def get_run(run_id: RunIdPath, principal: ViewerDep, services: ServicesDep) -> RunPublic:
    return RunPublic.of(services.runs.get_run(principal.project_id, run_id))


@router.post("/{run_id}/cancel", status_code=202, response_model=RunPublic, summary="Cancel a run")
def cancel_run(run_id: RunIdPath, principal: RunnerDep, services: ServicesDep, audit: AuditDep) -> RunPublic:
    run = services.runs.cancel(principal.project_id, run_id)
    audit.record("run.cancel", "run", run.id, revision=run.revision)
    return RunPublic.of(run)


@router.get("/{run_id}/artifacts", response_model=ArtifactList, summary="Presigned URLs of a run's artifacts")
def artifacts(run_id: RunIdPath, principal: ViewerDep, services: ServicesDep) -> ArtifactList:
    return ArtifactList(artifacts=services.runs.artifacts(principal.project_id, run_id))
