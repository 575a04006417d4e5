"""AuditStore on the single table (see ``shared/aws/dynamodb.py`` for the conventions). The audit log lives in
partitions of its own (``AUDIT#<pid>...``), so a busy log never crowds a project's partition, and reuses the
table's overloaded indexes (no new index, nothing to change in the CDK table or ``provision``):

- record: PK ``AUDIT#<pid>``                          SK ``<at>#<aud id>``   (a project's records, newest first)
          gsi1 ``AUDIT#<pid>#KIND#<kind>``             / ``<at>#<aud id>``   (by resource kind)
          gsi2 ``AUDIT#<pid>#RES#<kind>#<resource id>`` / ``<at>#<aud id>``  (by resource: kind and id)
          gsi3 ``AUDIT#<pid>#ACTOR#<key id>``          / ``<at>#<aud id>``   (by actor: the key that wrote)

``<at>`` is the fixed-width UTC time (``sort_time``), so ``since`` is a key condition (``SK >= <since>``) on
whichever of these is queried; a filter on both resource and actor queries the resource's index and filters
by key id. Every query is of one project's partition: another project's records are out of reach by key.

Append-only: the one write is a conditional put that never overwrites (``attribute_not_exists(PK)``); this
module has no update and no delete, and the CDK stack denies every role that writes the table an update, a
delete or a batch write of an item whose partition key starts ``AUDIT#`` (``infra_cdk/stack.py``).
``expires_at`` is the table's TTL attribute (enabled on the CDK table and by ``provision``): DynamoDB removes
an expired record eventually (moto never), and reads leave it out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.aws.dynamodb import DynamoRepository, _check_size, _item, sort_time
from shared.aws.errors import translate
from shared.errors import Conflict
from shared.models.audit import AuditQuery, AuditRecord
from shared.models.pages import Page
from shared.pagination import scope_of
from shared.resources import AUDIT_PARTITION_PREFIX, TTL_ATTRIBUTE


def _partition(project_id: str) -> str:
    return f"{AUDIT_PARTITION_PREFIX}{project_id}"


class DynamoAuditStore:
    """Not a :class:`DynamoRepository` (whose methods write tests, runs, keys): this store's only write is
    :meth:`append`. It borrows the repository's paged query (cursors bound to their query) for listing."""

    def __init__(self, client: Any, table: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self._db = client
        self._table = table
        self._reader = DynamoRepository(client, table)
        self._clock = clock or (lambda: datetime.now(UTC))

    @staticmethod
    def _record_item(record: AuditRecord) -> dict[str, Any]:
        pk = _partition(record.project_id)
        sk = f"{sort_time(record.at)}#{record.id}"
        keys = {
            "PK": pk,
            "SK": sk,
            "gsi1pk": f"{pk}#KIND#{record.resource_kind}",
            "gsi1sk": sk,
            "gsi2pk": f"{pk}#RES#{record.resource_kind}#{record.resource_id}",
            "gsi2sk": sk,
            "gsi3pk": f"{pk}#ACTOR#{record.key_id}",
            "gsi3sk": sk,
        }
        item = _item(keys, record, type="audit_record")
        _check_size(item, "the audit record")
        return item

    def append(self, record: AuditRecord) -> None:
        try:
            with translate(f"append audit record {record.id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item=self._record_item(record),
                    ConditionExpression="attribute_not_exists(PK)",
                )
        except Conflict as exc:
            raise Conflict(f"audit record {record.id} exists already: records are never overwritten") from exc

    def list_records(self, query: AuditQuery) -> Page[AuditRecord]:
        pk = _partition(query.project_id)
        index: str | None
        if query.resource_kind is not None and query.resource_id is not None:
            index, partition = "gsi2", f"{pk}#RES#{query.resource_kind}#{query.resource_id}"
        elif query.resource_kind is not None:
            index, partition = "gsi1", f"{pk}#KIND#{query.resource_kind}"
        elif query.actor is not None:
            index, partition = "gsi3", f"{pk}#ACTOR#{query.actor}"
        else:
            index, partition = None, pk
        pk_name, sk_name = (f"{index}pk", f"{index}sk") if index else ("PK", "SK")
        values: dict[str, Any] = {
            ":pk": {"S": partition},
            ":now": {"N": str(int(self._clock().timestamp()))},
        }
        key_condition = f"{pk_name} = :pk"
        if query.since is not None:
            key_condition += f" AND {sk_name} >= :since"
            values[":since"] = {"S": sort_time(query.since)}
        filters = [f"{TTL_ATTRIBUTE} > :now"]
        if query.actor is not None and index != "gsi3":
            filters.append("key_id = :actor")
            values[":actor"] = {"S": query.actor}
        return self._reader._query_page(
            AuditRecord,
            scope=scope_of("audit", query.model_dump(mode="json", exclude={"cursor", "limit"})),
            index=index,
            key_condition=key_condition,
            values=values,
            filters=filters,
            forward=False,
            limit=query.limit,
            cursor=query.cursor,
        )
