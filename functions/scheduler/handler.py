"""The scheduler function: EventBridge Scheduler invokes it when a schedule is due, with the input the schedule
was given (``shared/aws/scheduler.py``): ``{"project_id", "schedule_id", "scheduled_time"}``, where
``scheduled_time`` is the ``<aws.scheduler.scheduled-time>`` context attribute, the due time (ISO 8601, UTC).

It starts the schedule's suite run or run, once per due time (``ScheduleService.fire``: a retried invocation
finds the first one). A schedule deleted or paused meanwhile starts nothing and is not an error: the invocation
is not retried. An unreadable input is logged and dropped. Anything else (the table unavailable) raises, so
EventBridge Scheduler retries the invocation (its retry policy), then sends it to the dead-letter queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.errors import NotFound
from shared.models.common import Model
from shared.observability import logger
from shared.services.container import Services


class ScheduledInvocation(Model):
    project_id: str
    schedule_id: str
    scheduled_time: datetime


class _State:
    services: Services | None = None


def configure(services: Services | None) -> None:
    """Use these services instead of the AWS ones (tests, local embedding)."""
    _State.services = services


def _services() -> Services:
    if _State.services is None:
        from shared.aws.factory import get_services

        _State.services = get_services()
    return _State.services


def process(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """Fire one invocation; what it did, as the function's result."""
    try:
        invocation = ScheduledInvocation.model_validate(event)
    except ValidationError as exc:
        logger.error("unreadable schedule invocation dropped", error=str(exc).splitlines()[0])
        return {"outcome": "dropped", "reason": "unreadable input"}
    if services.schedules is None:
        logger.error("schedule invocation dropped: this deployment has no schedules")
        return {"outcome": "dropped", "reason": "no schedules"}
    try:
        firing = services.schedules.fire(invocation.project_id, invocation.schedule_id, invocation.scheduled_time)
    except NotFound:
        logger.warning("invocation of a deleted schedule dropped", schedule_id=invocation.schedule_id)
        return {"outcome": "dropped", "reason": "the schedule no longer exists"}
    outcome = "already" if firing.already else "started" if firing.started else "not_started"
    return {"outcome": outcome, "started": firing.started, "error": firing.error}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, _services())
