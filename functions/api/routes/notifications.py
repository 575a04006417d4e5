"""Notification targets of the calling project and their deliveries: ``/v1/notifications``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from functions.api import examples
from functions.api.deps import AdminDep, AuditDep, ServicesDep, ViewerDep
from shared.errors import Unavailable
from shared.models.notifications import DeliveryPublic, NotificationCreate, NotificationCreated, NotificationPublic
from shared.models.pages import Page
from shared.services.container import Services
from shared.services.notifications import NotificationService

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

TargetIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="a notification target's id (ntf_...)")
]
Limit = Annotated[int, Query(ge=1, le=200, description="How many items a page holds at most (1 to 200).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2000, description="The previous page's `next_cursor`, for the next page. Default: the first page."
    ),
]


def _notifications(services: Services) -> NotificationService:
    if services.notifications is None:
        raise Unavailable("this deployment has no notifications configured")
    return services.notifications


@router.post(
    "",
    status_code=201,
    response_model=NotificationCreated,
    summary="Create a notification target (its signing secret is shown in this answer only)",
)
def create_notification(
    body: Annotated[NotificationCreate, Body(openapi_examples=examples.NOTIFICATION_CREATE)],
    principal: AdminDep,
    services: ServicesDep,
    audit: AuditDep,
) -> NotificationCreated:
    target = _notifications(services).create(principal.project_id, body)
    audit.record("notification.create", "notification", target.id, details={"kind": target.kind})  # no URL: a secret
    return NotificationCreated(**NotificationPublic.of(target).model_dump(), secret=target.secret)


@router.get("", response_model=Page[NotificationPublic], summary="List the calling project's notification targets")
def list_notifications(
    principal: ViewerDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[NotificationPublic]:
    page = _notifications(services).list_targets(principal.project_id, limit=limit, cursor=cursor)
    return Page[NotificationPublic](items=[NotificationPublic.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/{target_id}", response_model=NotificationPublic, summary="Get a notification target")
def get_notification(target_id: TargetIdPath, principal: ViewerDep, services: ServicesDep) -> NotificationPublic:
    return NotificationPublic.of(_notifications(services).get(principal.project_id, target_id))


@router.delete("/{target_id}", status_code=204, response_class=Response, summary="Delete a notification target")
def delete_notification(
    target_id: TargetIdPath, principal: AdminDep, services: ServicesDep, audit: AuditDep
) -> Response:
    _notifications(services).delete(principal.project_id, target_id)
    audit.record("notification.delete", "notification", target_id)
    return Response(status_code=204)


@router.get(
    "/{target_id}/deliveries",
    response_model=Page[DeliveryPublic],
    summary="The target's deliveries, newest first, with every attempt",
)
def list_deliveries(
    target_id: TargetIdPath, principal: ViewerDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[DeliveryPublic]:
    page = _notifications(services).deliveries(principal.project_id, target_id, limit=limit, cursor=cursor)
    return Page[DeliveryPublic](items=[DeliveryPublic.of(d) for d in page.items], next_cursor=page.next_cursor)
