"""GithubStore on the single table (see ``shared/aws/dynamodb.py`` for the other keys):

- integration:      PK ``PROJECT#<pid>``  SK ``INTEGRATION#github``
- webhook delivery: PK ``GITHUB#<pid>``   SK ``HOOK#<X-GitHub-Delivery>``, with ``expires_at`` (the table's TTL
                    attribute); a claim is a conditional put that succeeds when there is none or it expired
                    (DynamoDB deletes expired items only eventually, moto never)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.aws.dynamodb import DynamoRepository, _check_size, _item, _load
from shared.aws.errors import translate
from shared.errors import Conflict, NotFound
from shared.models.github import GithubIntegration
from shared.resources import TTL_ATTRIBUTE

_SK = "INTEGRATION#github"


class DynamoGithubStore(DynamoRepository):
    def __init__(self, client: Any, table: str, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(client, table)
        self._clock = clock or (lambda: datetime.now(UTC))

    def put_integration(self, integration: GithubIntegration) -> None:
        item = _item({"PK": f"PROJECT#{integration.project_id}", "SK": _SK}, integration, type="github_integration")
        _check_size(item, "the GitHub integration")
        with translate("store the GitHub integration"):
            self._db.put_item(TableName=self._table, Item=item)

    def get_integration(self, project_id: str) -> GithubIntegration | None:
        item = self._get(f"PROJECT#{project_id}", _SK, consistent=True)
        return None if item is None else _load(GithubIntegration, item)

    def delete_integration(self, project_id: str) -> None:
        try:
            with translate("delete the GitHub integration"):
                self._db.delete_item(
                    TableName=self._table,
                    Key={"PK": {"S": f"PROJECT#{project_id}"}, "SK": {"S": _SK}},
                    ConditionExpression="attribute_exists(PK)",
                )
        except Conflict as exc:
            raise NotFound("this project has no GitHub integration") from exc

    def claim_webhook_delivery(self, project_id: str, delivery_id: str, *, expires_at: int) -> bool:
        now = int(self._clock().timestamp())
        try:
            with translate(f"claim GitHub delivery {delivery_id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        "PK": {"S": f"GITHUB#{project_id}"},
                        "SK": {"S": f"HOOK#{delivery_id}"},
                        "type": {"S": "github_webhook_delivery"},
                        TTL_ATTRIBUTE: {"N": str(expires_at)},
                    },
                    ConditionExpression="attribute_not_exists(PK) OR #ttl <= :now",
                    ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
        except Conflict:
            return False
        return True

    def release_webhook_delivery(self, project_id: str, delivery_id: str) -> None:
        with translate(f"release GitHub delivery {delivery_id}"):
            self._db.delete_item(
                TableName=self._table,
                Key={"PK": {"S": f"GITHUB#{project_id}"}, "SK": {"S": f"HOOK#{delivery_id}"}},
            )
