"""EventBridge Scheduler: the AWS schedule of each stored schedule (the ``Scheduler`` port).

Each project's schedules live in a schedule group of its own (``<prefix><project id>``, made on first use), named
by the schedule's id. Their target is the scheduler function (``functions/scheduler``), invoked with the input
``{"project_id", "schedule_id", "scheduled_time"}``, where EventBridge Scheduler fills ``scheduled_time`` in (the
``<aws.scheduler.scheduled-time>`` context attribute): the due time the firing is for. Invocations that fail are
retried (``max_attempts`` times, for up to ``max_age_s``), then go to the dead-letter queue. The flexible time
window is off: a schedule fires in the minute it is due.

``put`` is an upsert of the whole definition (UpdateSchedule replaces every field it is given and resets the
others), so calling it again after a failure repairs what the failure left.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.aws.errors import error_code, translate
from shared.models.schedules import SCHEDULED_TIME, MirroredSchedule, Schedule

_NOT_FOUND = "ResourceNotFoundException"
_EXISTS = "ConflictException"


class EventBridgeScheduler:
    def __init__(
        self,
        client: Any,
        *,
        target_arn: str,
        role_arn: str,
        dlq_arn: str | None = None,
        group_prefix: str = "autotest-",
        max_attempts: int = 3,
        max_age_s: int = 3600,
    ) -> None:
        self._client = client
        self._target_arn = target_arn
        self._role_arn = role_arn
        self._dlq_arn = dlq_arn
        self._prefix = group_prefix
        self._max_attempts = max_attempts
        self._max_age_s = max_age_s
        self._groups: set[str] = set()

    def group(self, project_id: str) -> str:
        """The project's schedule group (names: up to 64 letters, digits, ``-``, ``_``, ``.``)."""
        return f"{self._prefix}{project_id}"[:64]

    def _ensure_group(self, group: str) -> None:
        if group in self._groups:
            return
        try:
            self._client.create_schedule_group(Name=group)
        except ClientError as exc:
            if error_code(exc) != _EXISTS:
                with translate(f"create schedule group {group}"):
                    raise
        self._groups.add(group)

    def _definition(self, schedule: Schedule, start_at: datetime | None) -> dict[str, Any]:
        mirrored = MirroredSchedule.of(schedule, start_at=start_at)
        target: dict[str, Any] = {
            "Arn": self._target_arn,
            "RoleArn": self._role_arn,
            "Input": json.dumps(mirrored.input),
            "RetryPolicy": {"MaximumRetryAttempts": self._max_attempts, "MaximumEventAgeInSeconds": self._max_age_s},
        }
        if self._dlq_arn:
            target["DeadLetterConfig"] = {"Arn": self._dlq_arn}
        params: dict[str, Any] = {
            "Name": mirrored.name,
            "GroupName": self.group(schedule.project_id),
            "ScheduleExpression": mirrored.expression,
            "ScheduleExpressionTimezone": mirrored.timezone,
            "State": mirrored.state,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target,
        }
        if schedule.name:
            params["Description"] = schedule.name[:512]
        if start_at is not None:
            params["StartDate"] = start_at
        return params

    def put(self, schedule: Schedule, *, start_at: datetime | None) -> None:
        params = self._definition(schedule, start_at)
        self._ensure_group(params["GroupName"])
        with translate(f"put EventBridge schedule {schedule.id}"):
            try:
                self._client.update_schedule(**params)
            except ClientError as exc:
                if error_code(exc) != _NOT_FOUND:
                    raise
                self._client.create_schedule(**params)

    def delete(self, project_id: str, schedule_id: str) -> None:
        with translate(f"delete EventBridge schedule {schedule_id}"):
            try:
                self._client.delete_schedule(Name=schedule_id, GroupName=self.group(project_id))
            except ClientError as exc:
                if error_code(exc) != _NOT_FOUND:
                    raise

    def get(self, project_id: str, schedule_id: str) -> MirroredSchedule | None:
        with translate(f"read EventBridge schedule {schedule_id}"):
            try:
                found = self._client.get_schedule(Name=schedule_id, GroupName=self.group(project_id))
            except ClientError as exc:
                if error_code(exc) == _NOT_FOUND:
                    return None
                raise
        return MirroredSchedule(
            name=found["Name"],
            expression=found["ScheduleExpression"],
            timezone=found.get("ScheduleExpressionTimezone", "UTC"),
            state=found.get("State", "ENABLED"),
            start_at=found.get("StartDate"),
            input=json.loads(found["Target"].get("Input") or "{}"),
        )


class LocalScheduler:
    """No AWS schedules: in local mode the scheduler loop (``cli/local/scheduler.py``) fires the stored ones."""

    def put(self, schedule: Schedule, *, start_at: datetime | None) -> None:
        return None

    def delete(self, project_id: str, schedule_id: str) -> None:
        return None

    def get(self, project_id: str, schedule_id: str) -> MirroredSchedule | None:
        return None


__all__ = ["SCHEDULED_TIME", "EventBridgeScheduler", "LocalScheduler"]
