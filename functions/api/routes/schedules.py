"""Schedules: ``/v1/schedules``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from functions.api import examples
from functions.api.deps import AuditDep, EditorDep, ServicesDep, ViewerDep
from shared.errors import Unavailable
from shared.models.pages import Page
from shared.models.schedules import ScheduleCreate, SchedulePublic, ScheduleUpdate
from shared.services.container import Services
from shared.services.schedules import ScheduleService

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])

ScheduleIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="a schedule's id (sch_...)")]


def _schedules(services: Services) -> ScheduleService:
    if services.schedules is None:
        raise Unavailable("this deployment has no schedules")
    return services.schedules


@router.post("", status_code=201, response_model=SchedulePublic, summary="Create a schedule of a suite or a test")
def create_schedule(
    body: Annotated[ScheduleCreate, Body(openapi_examples=examples.SCHEDULE_CREATE)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
    response: Response,
) -> SchedulePublic:
    schedules = _schedules(services)
    schedule = schedules.create(principal.project_id, body)
    audit.record("schedule.create", "schedule", schedule.id)
    response.headers["Location"] = f"/v1/schedules/{schedule.id}"
    return schedules.public(schedule)


@router.get("", response_model=Page[SchedulePublic], summary="List schedules, oldest first")
def list_schedules(
    principal: ViewerDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200, description="How many items a page holds at most (1 to 200).")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=2000, description="The previous page's `next_cursor`, for the next page."),
    ] = None,
) -> Page[SchedulePublic]:
    schedules = _schedules(services)
    page = schedules.list_schedules(principal.project_id, limit=limit, cursor=cursor)
    return Page[SchedulePublic](items=[schedules.public(s) for s in page.items], next_cursor=page.next_cursor)


@router.get("/{schedule_id}", response_model=SchedulePublic, summary="Get a schedule and its next fire times")
def get_schedule(schedule_id: ScheduleIdPath, principal: ViewerDep, services: ServicesDep) -> SchedulePublic:
    schedules = _schedules(services)
    return schedules.public(schedules.get(principal.project_id, schedule_id))


@router.patch("/{schedule_id}", response_model=SchedulePublic, summary="Change, pause or resume a schedule")
def update_schedule(
    schedule_id: ScheduleIdPath,
    body: Annotated[ScheduleUpdate, Body(openapi_examples=examples.SCHEDULE_UPDATE)],
    principal: EditorDep,
    services: ServicesDep,
    audit: AuditDep,
) -> SchedulePublic:
    schedules = _schedules(services)
    schedule = schedules.update(principal.project_id, schedule_id, body)
    audit.record("schedule.update", "schedule", schedule.id, details={"fields": sorted(body.model_fields_set)})
    return schedules.public(schedule)


@router.delete("/{schedule_id}", status_code=204, summary="Delete a schedule (the runs it started stay)")
def delete_schedule(
    schedule_id: ScheduleIdPath, principal: EditorDep, services: ServicesDep, audit: AuditDep
) -> Response:
    _schedules(services).delete(principal.project_id, schedule_id)
    audit.record("schedule.delete", "schedule", schedule_id)
    return Response(status_code=204)
