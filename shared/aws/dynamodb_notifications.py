"""NotificationStore on the single table (see ``shared/aws/dynamodb.py`` for the other keys):

- target:   PK ``PROJECT#<pid>``  SK ``NOTIFY#<ntf id>``     (a project's targets, oldest first: ids sort by time)
- delivery: PK ``NOTIFY#<ntf id>`` SK ``DELIVERY#<dlv id>``  (a target's deliveries, newest first: a delivery
            id starts with its event's time); ``expires_at`` is the table's TTL attribute, and reads leave out
            expired items (DynamoDB deletes them only eventually, moto never)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.aws.dynamodb import DynamoRepository, _check_size, _item, _load
from shared.aws.errors import translate
from shared.errors import Conflict, NotFound
from shared.models.notifications import Delivery, NotificationTarget
from shared.models.pages import Page
from shared.pagination import scope_of
from shared.resources import TTL_ATTRIBUTE


class DynamoNotificationStore(DynamoRepository):
    def __init__(self, client: Any, table: str, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(client, table)
        self._clock = clock or (lambda: datetime.now(UTC))

    # ------------------------------------------------------------------------------------ targets

    def put_target(self, target: NotificationTarget) -> None:
        keys = {"PK": f"PROJECT#{target.project_id}", "SK": f"NOTIFY#{target.id}"}
        item = _item(keys, target, type="notification_target")
        _check_size(item, "the notification target")
        try:
            with translate(f"create notification target {target.id}"):
                self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(PK)")
        except Conflict as exc:
            raise Conflict(f"notification target {target.id} already exists") from exc

    def get_target(self, project_id: str, target_id: str) -> NotificationTarget:
        item = self._get(f"PROJECT#{project_id}", f"NOTIFY#{target_id}", consistent=True)
        if item is None:
            raise NotFound(f"notification target {target_id} not found")
        return _load(NotificationTarget, item)

    def list_targets(self, project_id: str, *, limit: int, cursor: str | None) -> Page[NotificationTarget]:
        return self._query_page(
            NotificationTarget,
            scope=scope_of("notification_targets", project_id),
            index=None,
            key_condition="PK = :pk AND begins_with(SK, :prefix)",
            values={":pk": {"S": f"PROJECT#{project_id}"}, ":prefix": {"S": "NOTIFY#"}},
            filters=[],
            forward=True,
            limit=limit,
            cursor=cursor,
        )

    def delete_target(self, project_id: str, target_id: str) -> None:
        try:
            with translate(f"delete notification target {target_id}"):
                self._db.delete_item(
                    TableName=self._table,
                    Key={"PK": {"S": f"PROJECT#{project_id}"}, "SK": {"S": f"NOTIFY#{target_id}"}},
                    ConditionExpression="attribute_exists(PK)",
                )
        except Conflict as exc:
            raise NotFound(f"notification target {target_id} not found") from exc

    # ------------------------------------------------------------------------------------ deliveries

    @staticmethod
    def _delivery_item(delivery: Delivery) -> dict[str, Any]:
        keys = {"PK": f"NOTIFY#{delivery.target_id}", "SK": f"DELIVERY#{delivery.id}"}
        item = _item(keys, delivery, type="notification_delivery")
        _check_size(item, "the delivery record")
        return item

    def create_delivery(self, delivery: Delivery) -> bool:
        try:
            with translate(f"record delivery {delivery.id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item=self._delivery_item(delivery),
                    ConditionExpression="attribute_not_exists(PK)",
                )
        except Conflict:
            return False
        return True

    def get_delivery(self, target_id: str, delivery_id: str) -> Delivery:
        item = self._get(f"NOTIFY#{target_id}", f"DELIVERY#{delivery_id}", consistent=True)
        if item is None:
            raise NotFound(f"delivery {delivery_id} not found")
        return _load(Delivery, item)

    def update_delivery(self, delivery: Delivery, *, expected_attempt: int) -> None:
        try:
            with translate(f"update delivery {delivery.id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item=self._delivery_item(delivery),
                    ConditionExpression="attribute_exists(PK) AND #attempt = :attempt AND #status = :pending",
                    ExpressionAttributeNames={"#attempt": "attempt", "#status": "status"},
                    ExpressionAttributeValues={":attempt": {"N": str(expected_attempt)}, ":pending": {"S": "pending"}},
                )
        except Conflict as exc:
            raise Conflict(
                f"delivery {delivery.id} is no longer pending on attempt {expected_attempt}",
                details={"expected_attempt": expected_attempt},
            ) from exc

    def list_deliveries(self, target_id: str, *, limit: int, cursor: str | None) -> Page[Delivery]:
        return self._query_page(
            Delivery,
            scope=scope_of("deliveries", target_id),
            index=None,
            key_condition="PK = :pk AND begins_with(SK, :prefix)",
            values={
                ":pk": {"S": f"NOTIFY#{target_id}"},
                ":prefix": {"S": "DELIVERY#"},
                ":now": {"N": str(int(self._clock().timestamp()))},
            },
            filters=[f"{TTL_ATTRIBUTE} > :now"],
            forward=False,
            limit=limit,
            cursor=cursor,
        )
