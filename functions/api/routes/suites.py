"""Suites and suite runs: ``/v1/suites``, ``/v1/suite-runs``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from functions.api import examples
from functions.api.deps import AuditDep, CorrelationDep, EditorDep, RunnerDep, ServicesDep, ViewerDep, label_filters
from shared.errors import NotFound
from shared.models.pages import Page
from shared.models.suites import Suite, SuiteCreate, SuiteRunCreate, SuiteRunPublic, SuiteUpdate
from shared.services.container import Services
from shared.services.suites import SuiteService

router = APIRouter(tags=["suites"])

_ID = r"^[A-Za-z0-9_-]{1,64}$"
SuiteIdPath = Annotated[str, Path(pattern=_ID, description="a suite's id (ste_...)")]
SuiteRunIdPath = Annotated[str, Path(pattern=_ID, description="a suite run's id (srn_...)")]
Limit = Annotated[int, Query(ge=1, le=200, description="How many items a page holds at most (1 to 200).")]
Cursor = Annotated[
    str | None, Query(max_length=2000, description="The previous page's `next_cursor`. Default: the first page.")
]
LabelFilter = Annotated[
    list[str] | None,
    Query(
        max_length=20,
        description="Only those carrying this label, as `key:value`; repeat for more, all must "
        "match. Example: `label=app_version:1.4.2`.",
    ),
]


#: a suite run started with no body: the suite's variables and labels as they are
_NO_BODY = SuiteRunCreate()


def _suites(services: Services) -> SuiteService:
    if services.suites is None:
        raise NotFound("this deployment has no suites")
    return services.suites


@router.post("/v1/suites", status_code=201, response_model=Suite, summary="Create a suite")
def create_suite(
    body: Annotated[SuiteCreate, Body(openapi_examples=examples.SUITE_CREATE)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
    response: Response,
) -> Suite:
    suite = _suites(services).create(principal.project_id, body)
    audit.record("suite.create", "suite", suite.id)
    response.headers["Location"] = f"/v1/suites/{suite.id}"
    return suite


@router.get("/v1/suites", response_model=Page[Suite], summary="List suites by name")
def list_suites(
    principal: ViewerDep,
    services: ServicesDep,
    name: Annotated[
        str | None, Query(max_length=200, description="Only the suite of this name (case-insensitive).")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Suite]:
    suites = _suites(services)
    if name is not None:
        try:
            return Page[Suite](items=[suites.resolve(principal.project_id, name)])
        except NotFound:
            return Page[Suite](items=[])
    return suites.list_suites(principal.project_id, limit=limit, cursor=cursor)


@router.get("/v1/suites/{suite_id}", response_model=Suite, summary="A suite")
def get_suite(suite_id: SuiteIdPath, principal: ViewerDep, services: ServicesDep) -> Suite:
    return _suites(services).get(principal.project_id, suite_id)


@router.patch("/v1/suites/{suite_id}", response_model=Suite, summary="Change a suite")
def update_suite(
    suite_id: SuiteIdPath,
    body: Annotated[SuiteUpdate, Body(openapi_examples=examples.SUITE_UPDATE)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
) -> Suite:
    suite = _suites(services).update(principal.project_id, suite_id, body)
    audit.record("suite.update", "suite", suite.id, details={"fields": sorted(body.model_fields_set)})
    return suite


@router.delete(
    "/v1/suites/{suite_id}", status_code=204, response_class=Response, summary="Delete a suite (its runs stay)"
)
def delete_suite(suite_id: SuiteIdPath, principal: EditorDep, services: ServicesDep, audit: AuditDep) -> Response:
    _suites(services).delete(principal.project_id, suite_id)
    audit.record("suite.delete", "suite", suite_id)
    return Response(status_code=204)


@router.post(
    "/v1/suites/{suite_id}/runs",
    status_code=202,
    response_model=SuiteRunPublic,
    summary="Start a suite run: a child run per test",
)
def start_suite_run(
    suite_id: SuiteIdPath,
    principal: RunnerDep,
    services: ServicesDep,
    correlation_id: CorrelationDep,
    audit: AuditDep,
    response: Response,
    body: Annotated[SuiteRunCreate, Body(openapi_examples=examples.SUITE_RUN_CREATE)] = _NO_BODY,
) -> SuiteRunPublic:
    run = _suites(services).start(principal.project_id, suite_id, body, correlation_id=correlation_id)
    audit.record("suite_run.start", "suite_run", run.id, details={"suite_id": suite_id})
    response.headers["Location"] = f"/v1/suite-runs/{run.id}"
    return SuiteRunPublic.of(run)


@router.get("/v1/suite-runs", response_model=Page[SuiteRunPublic], summary="List suite runs, newest first")
def list_suite_runs(
    principal: ViewerDep,
    services: ServicesDep,
    suite_id: Annotated[str | None, Query(max_length=64, description="Only the runs of this suite.")] = None,
    label: LabelFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SuiteRunPublic]:
    labels = label_filters(label or [])
    page = _suites(services).list_runs(
        principal.project_id, suite_id=suite_id, labels=labels, limit=limit, cursor=cursor
    )
    return Page[SuiteRunPublic](items=[SuiteRunPublic.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/v1/suite-runs/{suite_run_id}", response_model=SuiteRunPublic, summary="A suite run and its children")
def get_suite_run(suite_run_id: SuiteRunIdPath, principal: ViewerDep, services: ServicesDep) -> SuiteRunPublic:
    return SuiteRunPublic.of(_suites(services).get_run(principal.project_id, suite_run_id))


@router.post(
    "/v1/suite-runs/{suite_run_id}/cancel",
    status_code=202,
    response_model=SuiteRunPublic,
    summary="Cancel a suite run and its child runs",
)
def cancel_suite_run(
    suite_run_id: SuiteRunIdPath, principal: RunnerDep, services: ServicesDep, audit: AuditDep
) -> SuiteRunPublic:
    run = _suites(services).cancel(principal.project_id, suite_run_id)
    audit.record("suite_run.cancel", "suite_run", run.id, details={"suite_id": run.suite_id})
    return SuiteRunPublic.of(run)
