"""ScheduleStore on the single table (see ``shared/aws/dynamodb.py`` for the conventions):

- schedule: PK ``PROJECT#<pid>`` SK ``SCHEDULE#<schid>``                (a project's schedules, oldest first)
            gsi3 ``SCHEDULES#DUE`` / ``<next fire time>#<schid>``        (enabled ones only: what is due, for
            local mode's scheduler loop; a paused schedule has no gsi3 keys, so the index holds only those that
            will fire)

Every write but the first is conditional on the ``version`` the writer read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.aws.dynamodb import DynamoRepository, _check_size, _item, _load, sort_time
from shared.aws.errors import translate
from shared.errors import Conflict, NotFound
from shared.models.pages import Page
from shared.models.schedules import Schedule
from shared.pagination import scope_of

DUE_PARTITION = "SCHEDULES#DUE"


class DynamoScheduleStore(DynamoRepository):
    @staticmethod
    def _schedule_item(schedule: Schedule) -> dict[str, Any]:
        keys = {"PK": f"PROJECT#{schedule.project_id}", "SK": f"SCHEDULE#{schedule.id}"}
        if schedule.enabled and schedule.next_fire_at is not None:
            keys |= {"gsi3pk": DUE_PARTITION, "gsi3sk": f"{sort_time(schedule.next_fire_at)}#{schedule.id}"}
        item = _item(keys, schedule, type="schedule")
        _check_size(item, f"schedule {schedule.id}")
        return item

    def put_schedule(self, schedule: Schedule) -> None:
        try:
            with translate(f"create schedule {schedule.id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item=self._schedule_item(schedule),
                    ConditionExpression="attribute_not_exists(PK)",
                )
        except Conflict as exc:
            raise Conflict(f"schedule {schedule.id} exists already") from exc

    def get_schedule(self, project_id: str, schedule_id: str) -> Schedule:
        item = self._get(f"PROJECT#{project_id}", f"SCHEDULE#{schedule_id}", consistent=True)
        if item is None:
            raise NotFound(f"schedule {schedule_id} not found")
        return _load(Schedule, item)

    def replace_schedule(self, schedule: Schedule) -> Schedule:
        written = schedule.model_copy(update={"version": schedule.version + 1})
        try:
            with translate(f"update schedule {schedule.id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item=self._schedule_item(written),
                    ConditionExpression="attribute_exists(PK) AND #v = :v",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":v": {"N": str(schedule.version)}},
                )
        except Conflict as exc:
            self.get_schedule(schedule.project_id, schedule.id)  # NotFound when it was deleted meanwhile
            raise Conflict(f"schedule {schedule.id} changed meanwhile (version {schedule.version} is stale)") from exc
        return written

    def delete_schedule(self, project_id: str, schedule_id: str) -> None:
        try:
            with translate(f"delete schedule {schedule_id}"):
                self._db.delete_item(
                    TableName=self._table,
                    Key={"PK": {"S": f"PROJECT#{project_id}"}, "SK": {"S": f"SCHEDULE#{schedule_id}"}},
                    ConditionExpression="attribute_exists(PK)",
                )
        except Conflict as exc:
            raise NotFound(f"schedule {schedule_id} not found") from exc

    def list_schedules(self, project_id: str, *, limit: int, cursor: str | None) -> Page[Schedule]:
        return self._query_page(
            Schedule,
            scope=scope_of("schedules", project_id),
            index=None,
            key_condition="PK = :pk AND begins_with(SK, :sk)",
            values={":pk": {"S": f"PROJECT#{project_id}"}, ":sk": {"S": "SCHEDULE#"}},
            filters=[],
            forward=True,
            limit=limit,
            cursor=cursor,
        )

    def due_schedules(self, now: datetime, *, limit: int) -> list[Schedule]:
        with translate("query due schedules"):
            response = self._db.query(
                TableName=self._table,
                IndexName="gsi3",
                KeyConditionExpression="gsi3pk = :pk AND gsi3sk <= :now",
                ExpressionAttributeValues={
                    ":pk": {"S": DUE_PARTITION},
                    ":now": {"S": f"{sort_time(now)}#~"},  # '~' sorts after every id: all due at ``now`` too
                },
                ScanIndexForward=True,
                Limit=limit,
            )
        return [_load(Schedule, item) for item in response.get("Items", [])]
