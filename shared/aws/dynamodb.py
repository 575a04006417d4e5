"""DynamoDB single-table repository (ProjectStore + TestStore + RunStore).

Keys come from the query patterns; no Scan anywhere. The ``gsiN`` indexes have overloaded keys:

- project:  PK ``PROJECT#<pid>``   SK ``#PROJECT``
- api key:  PK ``APIKEY#<sha256>`` SK ``#APIKEY``            (lookup by the key's hash)
            gsi1 ``PROJECT#<pid>#KEYS`` / ``<created>#<kid>``          (a project's keys, oldest first; a key made
            before the listing had none, and gets it when it is next used)
- test:     PK ``PROJECT#<pid>``   SK ``TEST#<tid>``
            gsi1 ``PROJECT#<pid>#TESTS`` / ``<name lower>#<tid>``       (sort by name)
            gsi2 ``PROJECT#<pid>#TESTS`` / ``<updated>#<tid>``          (sort by updated)
- revision: PK ``TEST#<tid>``      SK ``REV#<00000000n>``    (revisions of a test, in order)
- run:      PK ``RUN#<rid>``       SK ``#RUN``
            gsi1 ``PROJECT#<pid>#TEST#<tid>#RUNS`` / ``<created>#<rid>`` (runs of a test, newest first)
            gsi2 ``PROJECT#<pid>#RUNS`` / ``<created>#<rid>``           (runs of a project)
            gsi3 ``PROJECT#<pid>#RUNS#<status>`` / ``<created>#<rid>``  (runs by status)
            gsi4 ``PROJECT#<pid>#SUITERUN#<srid>#RUNS`` / ``<created>#<rid>`` (child runs of a suite run)
- plan proposal: PK ``PROJECT#<pid>`` SK ``PLAN#<plnid>``     (read by project + id: isolation by key)
- cached plan:   PK ``PROJECT#<pid>`` SK ``PLANCACHE#<spec hash>``  (a plan per goal content, per project)
- element:       PK ``ELEMENTS#<pid>#<tid>`` SK ``STEP#<step key>#PAGE#<sha256 of page key, 32>``
                 (the element cache; ``expires_at`` is the table's TTL attribute, and reads skip expired
                 items, since DynamoDB deletes them only eventually and moto never does)

- suite:     PK ``PROJECT#<pid>`` SK ``SUITE#<sid>``
             gsi1 ``PROJECT#<pid>#SUITES`` / ``<name lower>#<sid>``            (suites by name)
- suite name: PK ``PROJECT#<pid>`` SK ``SUITENAME#<name lower>``  (the guard that keeps names unique)
- suite run: PK ``PROJECT#<pid>`` SK ``SUITERUN#<srid>``
             gsi1 ``PROJECT#<pid>#SUITE#<sid>#SUITERUNS`` / ``<created>#<srid>`` (runs of a suite, newest first)
             gsi2 ``PROJECT#<pid>#SUITERUNS`` / ``<created>#<srid>``           (suite runs of a project)

Schedules and notification targets live under their own SK prefixes in the project's partition. Every run
status change is conditional on the status and attempt the writer saw.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import BaseModel

from shared.aws.errors import translate
from shared.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from shared.models.common import STORED
from shared.models.pages import Page
from shared.models.planning import CachedElement, PlanOutcome, PlanProposal
from shared.models.projects import ApiKey, Project
from shared.models.queries import RunQuery, TestQuery
from shared.models.runs import RUN_ROW_FIELDS, Run, RunControl, RunRow, RunStatus
from shared.models.suites import Suite, SuiteRun
from shared.models.tests import Revision, TestCase
from shared.pagination import decode_cursor, encode_cursor, scope_of

M = TypeVar("M", bound=BaseModel)

_ser = TypeSerializer()
_de = TypeDeserializer()
#: the test-level fields ``update_test`` may write
_TEST_FIELDS = frozenset({"name", "tags", "description", "status"})
_KEY_ATTRS = ("PK", "SK", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk")
# A list request reads at most this many DynamoDB pages before returning what it has (+ cursor).
_MAX_PAGES = 10


def sort_time(value: datetime | str) -> str:
    """A fixed-width UTC timestamp that sorts lexically (pydantic drops zero microseconds)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # within hours of year 1 or 9999: the ends of time
        value = datetime.min.replace(tzinfo=UTC) if value.year == 1 else datetime.max.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# User-shaped documents (plans with arbitrary request bodies, datasets, step results) are stored as
# JSON strings: DynamoDB limits nesting depth and number types, JSON does not.
_JSON_FIELDS = frozenset({"steps", "dataset", "spec", "iterations", "variables", "children", "extracted", "attempts"})
#: DynamoDB's item limit is 400 KB; keep a margin for the attribute names and type markers.
MAX_ITEM_BYTES = 390 * 1024


def _to_dynamo(value: Any, field: str | None = None) -> dict[str, Any]:
    if field in _JSON_FIELDS and value is not None:
        return {"S": json.dumps(value, separators=(",", ":"), ensure_ascii=False)}
    return dict(_ser.serialize(_decimalize(value)))


def _check_size(item: dict[str, Any], what: str) -> None:
    size = len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > MAX_ITEM_BYTES:
        raise PayloadTooLarge(
            f"{what} is too large to store: {size // 1024} KB, the limit is {MAX_ITEM_BYTES // 1024} KB "
            "(fewer or shorter steps, variables or dataset rows)",
            details={"size": size, "limit": MAX_ITEM_BYTES},
        )


def _decimalize(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimalize(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def _item(keys: dict[str, str], model: BaseModel, **extra: Any) -> dict[str, Any]:
    data = model.model_dump(mode="json")
    return {k: _to_dynamo(v, k) for k, v in {**data, **extra, **keys}.items()}


def _load(cls: type[M], item: dict[str, Any]) -> M:
    data = {k: _plain(_de.deserialize(v)) for k, v in item.items() if k not in _KEY_ATTRS}
    for field in _JSON_FIELDS & data.keys():
        if isinstance(data[field], str):
            data[field] = json.loads(data[field])
    return cls.model_validate(data, context=STORED)


class DynamoRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # -------------------------------------------------------------------------------- projects

    def put_project(self, project: Project) -> None:
        item = _item({"PK": f"PROJECT#{project.id}", "SK": "#PROJECT"}, project, type="project")
        try:
            with translate("put project"):
                self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(PK)")
        except Conflict as exc:
            raise Conflict(f"project {project.id} already exists") from exc

    def get_project(self, project_id: str) -> Project:
        item = self._get(f"PROJECT#{project_id}", "#PROJECT")
        if item is None:
            raise NotFound(f"project {project_id} not found")
        return _load(Project, item)

    @staticmethod
    def _key_listing(key: ApiKey) -> dict[str, str]:
        return {"gsi1pk": f"PROJECT#{key.project_id}#KEYS", "gsi1sk": f"{sort_time(key.created_at)}#{key.key_id}"}

    def put_api_key(self, key: ApiKey) -> None:
        item = _item({"PK": f"APIKEY#{key.key_hash}", "SK": "#APIKEY", **self._key_listing(key)}, key, type="api_key")
        with translate("put api key"):
            self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(PK)")

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        item = self._get(f"APIKEY#{key_hash}", "#APIKEY", consistent=True)  # a revoked key is refused at once
        return _load(ApiKey, item) if item else None

    def list_api_keys(self, project_id: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        return self._query_page(
            ApiKey,
            scope=scope_of("keys", project_id),
            index="gsi1",
            key_condition="gsi1pk = :pk",
            values={":pk": {"S": f"PROJECT#{project_id}#KEYS"}},
            filters=[],
            forward=True,
            limit=limit,
            cursor=cursor,
        )

    def touch_api_key(self, key: ApiKey, when: datetime) -> None:
        listing = self._key_listing(key)
        with translate("touch api key"):
            self._db.update_item(
                TableName=self._table,
                Key={"PK": {"S": f"APIKEY#{key.key_hash}"}, "SK": {"S": "#APIKEY"}},
                UpdateExpression="SET last_used_at = :t, gsi1pk = :pk, gsi1sk = :sk",
                ConditionExpression="attribute_exists(PK)",  # a key revoked meanwhile stays revoked
                ExpressionAttributeValues={
                    ":t": {"S": when.isoformat()},
                    ":pk": {"S": listing["gsi1pk"]},
                    ":sk": {"S": listing["gsi1sk"]},
                },
            )

    def delete_api_key(self, key: ApiKey, *, keep: ApiKey | None = None) -> None:
        target = {"PK": {"S": f"APIKEY#{key.key_hash}"}, "SK": {"S": "#APIKEY"}}
        with translate("delete api key"):
            if keep is None:
                self._db.delete_item(TableName=self._table, Key=target, ConditionExpression="attribute_exists(PK)")
                return
            kept = {"PK": {"S": f"APIKEY#{keep.key_hash}"}, "SK": {"S": "#APIKEY"}}
            exists = "attribute_exists(PK)"
            self._db.transact_write_items(  # serializable: of two revokes each keeping the other, one is cancelled
                TransactItems=[
                    {"Delete": {"TableName": self._table, "Key": target, "ConditionExpression": exists}},
                    {"ConditionCheck": {"TableName": self._table, "Key": kept, "ConditionExpression": exists}},
                ]
            )

    # ----------------------------------------------------------------------------------- tests

    @staticmethod
    def _test_item(test: TestCase) -> dict[str, Any]:
        pk = f"PROJECT#{test.project_id}"
        keys = {
            "PK": pk,
            "SK": f"TEST#{test.id}",
            "gsi1pk": f"{pk}#TESTS",
            "gsi1sk": f"{test.name.lower()}#{test.id}",
            "gsi2pk": f"{pk}#TESTS",
            "gsi2sk": f"{sort_time(test.updated_at)}#{test.id}",
        }
        return _item(keys, test, type="test", name_lower=test.name.lower())

    @staticmethod
    def _revision_item(revision: Revision) -> dict[str, Any]:
        keys = {"PK": f"TEST#{revision.test_id}", "SK": f"REV#{revision.revision:08d}"}
        item = _item(keys, revision, type="revision")
        _check_size(item, f"revision {revision.revision} of test {revision.test_id}")
        return item

    def create_test(self, test: TestCase, revision: Revision) -> None:
        with translate(f"create test {test.id}"):
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._test_item(test),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._revision_item(revision),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            )

    def get_test(self, project_id: str, test_id: str) -> TestCase:
        item = self._get(f"PROJECT#{project_id}", f"TEST#{test_id}")
        if item is None:
            raise NotFound(f"test {test_id} not found")
        return _load(TestCase, item)

    def update_test(self, test: TestCase, fields: Iterable[str]) -> None:
        """Write ``fields`` of ``test`` (test-level ones: name, tags, description, status) and its
        ``updated_at``; other fields, and concurrent changes to them, are left alone."""
        values: dict[str, Any] = {":u": {"S": test.updated_at.isoformat()}}
        names: dict[str, str] = {"#updated_at": "updated_at", "#gsi2sk": "gsi2sk"}
        sets = ["#updated_at = :u", "#gsi2sk = :g2"]
        values[":g2"] = {"S": f"{sort_time(test.updated_at)}#{test.id}"}
        data = test.model_dump(mode="json")
        for field in sorted(set(fields) & _TEST_FIELDS):
            names[f"#{field}"] = field
            values[f":{field}"] = _to_dynamo(data[field], field)
            sets.append(f"#{field} = :{field}")
        if "name" in fields:
            names |= {"#name_lower": "name_lower", "#gsi1sk": "gsi1sk"}
            values |= {":nl": {"S": test.name.lower()}, ":g1": {"S": f"{test.name.lower()}#{test.id}"}}
            sets += ["#name_lower = :nl", "#gsi1sk = :g1"]
        try:
            with translate(f"update test {test.id}"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": f"PROJECT#{test.project_id}"}, "SK": {"S": f"TEST#{test.id}"}},
                    UpdateExpression="SET " + ", ".join(sets),
                    ConditionExpression="attribute_exists(PK)",  # never resurrect a missing test
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
        except Conflict as exc:
            raise NotFound(f"test {test.id} not found") from exc

    def add_revision(self, test: TestCase, revision: Revision) -> None:
        pk, sk = f"PROJECT#{test.project_id}", f"TEST#{test.id}"
        updated = sort_time(test.updated_at)
        with translate(f"add revision {revision.revision} to {test.id}"):
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._revision_item(revision),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
                            "UpdateExpression": "SET latest_revision = :n, updated_at = :u, gsi2sk = :g",
                            "ConditionExpression": "latest_revision = :prev",
                            "ExpressionAttributeValues": {
                                ":n": {"N": str(revision.revision)},
                                ":prev": {"N": str(revision.revision - 1)},
                                ":u": {"S": test.updated_at.isoformat()},
                                ":g": {"S": f"{updated}#{test.id}"},
                            },
                        }
                    },
                ]
            )

    def get_revision(self, project_id: str, test_id: str, number: int) -> Revision:
        item = self._get(f"TEST#{test_id}", f"REV#{number:08d}")
        if item is None:
            raise NotFound(f"test {test_id} has no revision {number}")
        revision = _load(Revision, item)
        if revision.project_id != project_id:
            raise NotFound(f"test {test_id} has no revision {number}")
        return revision

    def list_revisions(self, project_id: str, test_id: str, *, limit: int, cursor: str | None) -> Page[Revision]:
        return self._query_page(
            Revision,
            scope=scope_of("revisions", project_id, test_id),
            index=None,
            key_condition="PK = :pk AND begins_with(SK, :rev)",
            values={":pk": {"S": f"TEST#{test_id}"}, ":rev": {"S": "REV#"}, ":pid": {"S": project_id}},
            filters=["project_id = :pid"],
            forward=True,
            limit=limit,
            cursor=cursor,
        )

    def list_tests(self, query: TestQuery) -> Page[TestCase]:
        by_name = query.sort.lstrip("-") == "name"
        index = "gsi1" if by_name else "gsi2"
        values: dict[str, Any] = {":pk": {"S": f"PROJECT#{query.project_id}#TESTS"}}
        filters: list[str] = []
        names: dict[str, str] = {}
        if query.kind:
            filters.append("kind = :kind")
            values[":kind"] = {"S": query.kind.value}
        if query.status:
            filters.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = {"S": query.status.value}
        if query.tag:
            filters.append("contains(tags, :tag)")
            values[":tag"] = {"S": query.tag}
        if query.q:
            filters.append("contains(name_lower, :q)")
            values[":q"] = {"S": query.q.lower()}
        return self._query_page(
            TestCase,
            scope=scope_of("tests", query.model_dump(exclude={"cursor", "limit"})),
            index=index,
            key_condition=f"{index}pk = :pk",
            values=values,
            names=names,
            filters=filters,
            forward=not query.sort.startswith("-"),
            limit=query.limit,
            cursor=query.cursor,
        )

    # ------------------------------------------------------------------------------------ runs

    @staticmethod
    def _run_keys(run: Run) -> dict[str, str]:
        created = f"{sort_time(run.created_at)}#{run.id}"
        project = f"PROJECT#{run.project_id}#RUNS"
        keys = {
            "PK": f"RUN#{run.id}",
            "SK": "#RUN",
            "gsi2pk": project,
            "gsi2sk": created,
            "gsi3pk": f"{project}#{run.status.value}",
            "gsi3sk": created,
        }
        if run.test_id:
            keys |= {"gsi1pk": f"PROJECT#{run.project_id}#TEST#{run.test_id}#RUNS", "gsi1sk": created}
        if run.suite_run_id:
            keys |= {"gsi4pk": f"PROJECT#{run.project_id}#SUITERUN#{run.suite_run_id}#RUNS", "gsi4sk": created}
        return keys

    def create_run(self, run: Run) -> None:
        item = _item(self._run_keys(run), run, type="run")
        _check_size(item, "the run")
        with translate(f"create run {run.id}"):
            self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(PK)")

    def get_run(self, run_id: str) -> Run:
        item = self._get(f"RUN#{run_id}", "#RUN", consistent=True)
        if item is None:
            raise NotFound(f"run {run_id} not found")
        return _load(Run, item)

    def update_run(
        self,
        run_id: str,
        changes: dict[str, Any],
        *,
        expected_status: RunStatus | None = None,
        expected_attempt: int | None = None,
        condition_heartbeat_before: str | None = None,
        project_id: str | None = None,
    ) -> Run:
        response = self._update_run(
            run_id,
            changes,
            expected_status=expected_status,
            expected_attempt=expected_attempt,
            condition_heartbeat_before=condition_heartbeat_before,
            project_id=project_id,
            returns="ALL_NEW",
        )
        return _load(Run, response["Attributes"])

    def write_run(
        self, run_id: str, changes: dict[str, Any], *, expected_status: RunStatus, expected_attempt: int
    ) -> None:
        if "status" in changes:
            raise ValueError("write_run writes no status: use update_run")
        self._update_run(
            run_id, changes, expected_status=expected_status, expected_attempt=expected_attempt, returns="NONE"
        )

    def get_run_control(self, run_id: str) -> RunControl:
        with translate(f"read run {run_id}"):
            response = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "#RUN"}},
                ProjectionExpression="#s, attempt, cancel_requested",
                ExpressionAttributeNames={"#s": "status"},
                ConsistentRead=True,
            )
        if "Item" not in response:
            raise NotFound(f"run {run_id} not found")
        return _load(RunControl, response["Item"])

    def _update_run(
        self,
        run_id: str,
        changes: dict[str, Any],
        *,
        expected_status: RunStatus | None,
        expected_attempt: int | None,
        condition_heartbeat_before: str | None = None,
        project_id: str | None = None,
        returns: str,
    ) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        fields = dict(changes)
        if "status" in fields:  # the status index is per project
            project = project_id or self._get_project_of(run_id)
            fields["gsi3pk"] = f"PROJECT#{project}#RUNS#{fields['status']}"
        if "heartbeat_at" in fields:
            hb = fields["heartbeat_at"]
            fields["heartbeat_ts"] = _epoch_ms(hb) if hb else 0
        for i, (field, value) in enumerate(fields.items()):
            names[f"#f{i}"] = field
            values[f":v{i}"] = _to_dynamo(value, field)
            sets.append(f"#f{i} = :v{i}")
        conditions = ["attribute_exists(PK)"]
        if expected_status is not None:
            names["#cs"] = "status"
            values[":cs"] = {"S": expected_status.value}
            conditions.append("#cs = :cs")
        if expected_attempt is not None:
            names["#ca"] = "attempt"
            values[":ca"] = {"N": str(expected_attempt)}
            conditions.append("#ca = :ca")
        if condition_heartbeat_before is not None:
            values[":hb"] = {"N": str(_epoch_ms(condition_heartbeat_before))}
            conditions.append("heartbeat_ts < :hb")
        try:
            with translate(f"update run {run_id}"):
                response = self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "#RUN"}},
                    UpdateExpression="SET " + ", ".join(sets),
                    ConditionExpression=" AND ".join(conditions),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues=returns,
                )
        except Conflict as exc:
            current = self.get_run(run_id)
            expected = expected_status.value if expected_status else "any status"
            if expected_attempt is not None:
                expected += f" (attempt {expected_attempt})"
            raise Conflict(
                f"run {run_id} is {current.status.value} (attempt {current.attempt}); expected {expected}",
                details={"status": current.status.value, "attempt": current.attempt},
            ) from exc
        return response

    def _get_project_of(self, run_id: str) -> str:
        with translate(f"read run {run_id}"):
            response = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": f"RUN#{run_id}"}, "SK": {"S": "#RUN"}},
                ProjectionExpression="project_id",
            )
        if "Item" not in response:
            raise NotFound(f"run {run_id} not found")
        return str(response["Item"]["project_id"]["S"])

    def list_runs(self, query: RunQuery) -> Page[Run]:
        return self._list_runs(query, Run)

    def list_run_rows(self, query: RunQuery) -> Page[RunRow]:
        return self._list_runs(query, RunRow, projection=RUN_ROW_FIELDS)

    def _list_runs(self, query: RunQuery, cls: type[M], projection: tuple[str, ...] | None = None) -> Page[M]:
        values: dict[str, Any] = {":pid": {"S": query.project_id}}
        filters = ["project_id = :pid"]
        names: dict[str, str] = {}
        project = f"PROJECT#{query.project_id}"
        if query.suite_run_id:
            index, pk = "gsi4", f"{project}#SUITERUN#{query.suite_run_id}#RUNS"
        elif query.test_id:
            index, pk = "gsi1", f"{project}#TEST#{query.test_id}#RUNS"
        elif query.status:
            index, pk = "gsi3", f"PROJECT#{query.project_id}#RUNS#{query.status.value}"
        else:
            index, pk = "gsi2", f"PROJECT#{query.project_id}#RUNS"
        if query.status and index != "gsi3":
            names["#status"] = "status"
            values[":status"] = {"S": query.status.value}
            filters.append("#status = :status")
        if query.trigger:
            names["#trigger"] = "trigger"
            values[":trigger"] = {"S": query.trigger}
            filters.append("#trigger = :trigger")
        if query.suite_run_id and query.test_id:
            values[":tid"] = {"S": query.test_id}
            filters.append("test_id = :tid")
        if query.labels:  # ``labels`` is stored as a map: match its entries
            names["#labels"] = "labels"
            for i, (key, value) in enumerate(sorted(query.labels.items())):
                names[f"#lk{i}"] = key
                values[f":lv{i}"] = {"S": value}
                filters.append(f"#labels.#lk{i} = :lv{i}")
        values[":pk"] = {"S": pk}
        key_condition = f"{index}pk = :pk"
        if query.since:
            values[":since"] = {"S": sort_time(query.since)}
            key_condition += f" AND {index}sk >= :since"
        return self._query_page(
            cls,
            scope=scope_of("runs", query.model_dump(exclude={"cursor", "limit"})),
            index=index,
            key_condition=key_condition,
            values=values,
            names=names,
            filters=filters,
            forward=query.sort == "created",
            limit=query.limit,
            cursor=query.cursor,
            projection=projection,
        )

    # --------------------------------------------------------------------------------- helpers

    def _get(self, pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
        with translate(f"read {pk}"):
            response = self._db.get_item(
                TableName=self._table, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=consistent
            )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _query_page(
        self,
        cls: type[M],
        *,
        scope: str,
        index: str | None,
        key_condition: str,
        values: dict[str, Any],
        filters: list[str],
        forward: bool,
        limit: int,
        cursor: str | None,
        names: dict[str, str] | None = None,
        projection: tuple[str, ...] | None = None,
    ) -> Page[M]:
        """Query one partition in order, applying filters, until ``limit`` items are found; with ``projection``,
        only those attributes (and the keys, for the cursor) are read.

        The cursor is the key of the last item returned (or DynamoDB's resume key when a page
        ran out), bound to ``scope`` so it only resumes the same query.
        """
        key_names = ["PK", "SK"] + ([f"{index}pk", f"{index}sk"] if index else [])
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }
        if index:
            params["IndexName"] = index
        if filters:
            params["FilterExpression"] = " AND ".join(filters)
        if projection:
            names = dict(names or {})
            shown = []
            for i, attribute in enumerate((*key_names, *projection)):
                names[f"#p{i}"] = attribute
                shown.append(f"#p{i}")
            params["ProjectionExpression"] = ", ".join(shown)
        if names:
            params["ExpressionAttributeNames"] = names
        start = decode_cursor(cursor, scope) if cursor else None
        if start is not None:
            partition = f"{index}pk" if index else "PK"
            well_formed = set(start) == set(key_names) and all(
                isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and len(v["S"]) <= 1024
                for v in start.values()
            )
            if not well_formed or start.get(partition) != values[":pk"]:
                raise InvalidInput("cursor: this cursor belongs to a different query", details={"field": "cursor"})
        items: list[dict[str, Any]] = []
        resume: dict[str, Any] | None = None
        for raw in self._pages(params, start, page_size=max(limit, 25)):
            page_items, last_key = raw
            for position, item in enumerate(page_items):
                items.append(item)
                if len(items) == limit:
                    more = position < len(page_items) - 1 or last_key is not None
                    resume = {k: item[k] for k in key_names if k in item} if more else None
                    return self._page(cls, items, resume, scope)
            resume = last_key
        return self._page(cls, items, resume, scope)

    def _pages(
        self, params: dict[str, Any], start: dict[str, Any] | None, *, page_size: int
    ) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
        for _ in range(_MAX_PAGES):
            call = dict(params, Limit=page_size)
            if start:
                call["ExclusiveStartKey"] = start
            with translate("query"):
                response = self._db.query(**call)
            start = response.get("LastEvaluatedKey")
            yield response.get("Items", []), start
            if not start:
                return

    @staticmethod
    def _page(cls: type[M], items: list[dict[str, Any]], resume: dict[str, Any] | None, scope: str) -> Page[M]:
        loader: Callable[[dict[str, Any]], M] = lambda item: _load(cls, item)  # noqa: E731
        return Page[cls](  # type: ignore[valid-type]
            items=[loader(i) for i in items], next_cursor=encode_cursor(resume, scope) if resume else None
        )


def _epoch_ms(value: str | datetime) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


# ------------------------------------------------------------------------------ planning


class DynamoPlanStore:
    """PlanStore: plan proposals and the plans cached per spec content hash, in the project's partition."""

    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    @staticmethod
    def _proposal_item(proposal: PlanProposal) -> dict[str, Any]:
        keys = {"PK": f"PROJECT#{proposal.project_id}", "SK": f"PLAN#{proposal.id}"}
        item = _item(keys, proposal, type="plan_proposal")
        _check_size(item, f"plan proposal {proposal.id}")
        return item

    def put_proposal(self, proposal: PlanProposal) -> None:
        try:
            with translate(f"put plan proposal {proposal.id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item=self._proposal_item(proposal),
                    ConditionExpression="attribute_not_exists(PK)",
                )
        except Conflict as exc:
            raise Conflict(f"plan proposal {proposal.id} already exists") from exc

    def get_proposal(self, project_id: str, proposal_id: str) -> PlanProposal:
        with translate(f"read plan proposal {proposal_id}"):
            response = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": f"PROJECT#{project_id}"}, "SK": {"S": f"PLAN#{proposal_id}"}},
                ConsistentRead=True,
            )
        if "Item" not in response:
            raise NotFound(f"plan proposal {proposal_id} not found")
        return _load(PlanProposal, response["Item"])

    def update_proposal(self, proposal: PlanProposal, *, expected_status: str) -> None:
        try:
            with translate(f"update plan proposal {proposal.id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item=self._proposal_item(proposal),
                    ConditionExpression="attribute_exists(PK) AND #status = :expected",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":expected": {"S": str(expected_status)}},
                )
        except Conflict as exc:
            raise Conflict(
                f"plan proposal {proposal.id} is no longer {expected_status}", details={"expected": expected_status}
            ) from exc

    def get_cached_plan(self, project_id: str, content_hash: str) -> PlanOutcome | None:
        with translate("read cached plan"):
            response = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": f"PROJECT#{project_id}"}, "SK": {"S": f"PLANCACHE#{content_hash}"}},
            )
        item = response.get("Item")
        return _load(PlanOutcome, item) if item else None

    def put_cached_plan(self, project_id: str, content_hash: str, outcome: PlanOutcome) -> None:
        keys = {"PK": f"PROJECT#{project_id}", "SK": f"PLANCACHE#{content_hash}"}
        item = _item(keys, outcome, type="cached_plan")
        _check_size(item, "the plan")
        with translate("put cached plan"):  # the same content plans the same: last writer wins
            self._db.put_item(TableName=self._table, Item=item)


# ------------------------------------------------------------------------------ element cache


class DynamoElementCache:
    """ElementCache: one item per project, test, step and page; expiring through the TTL attribute
    ``expires_at`` (unix seconds)."""

    def __init__(self, client: Any, table: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self._db = client
        self._table = table
        self._clock = clock or (lambda: datetime.now(UTC))

    @staticmethod
    def _key(project_id: str, test_id: str, step_key: str, page_key: str) -> dict[str, Any]:
        page = hashlib.sha256(page_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return {"PK": {"S": f"ELEMENTS#{project_id}#{test_id}"}, "SK": {"S": f"STEP#{step_key}#PAGE#{page}"}}

    def get(self, project_id: str, test_id: str, step_key: str, page_key: str) -> CachedElement | None:
        with translate("read element cache"):
            response = self._db.get_item(TableName=self._table, Key=self._key(project_id, test_id, step_key, page_key))
        item = response.get("Item")
        if not item:
            return None
        entry = _load(CachedElement, item)
        if entry.expires_at <= self._clock().timestamp() or entry.page_key != page_key:
            return None  # expired (TTL deletes it eventually), or another page of the same hash prefix
        return entry

    def put(self, entry: CachedElement) -> None:
        key = self._key(entry.project_id, entry.test_id, entry.step_key, entry.page_key)
        item = _item({k: v["S"] for k, v in key.items()}, entry, type="element")
        _check_size(item, "the element cache entry")
        with translate("put element cache"):
            self._db.put_item(TableName=self._table, Item=item)

    def delete(self, project_id: str, test_id: str, step_key: str, page_key: str) -> None:
        with translate("delete element cache"):
            self._db.delete_item(TableName=self._table, Key=self._key(project_id, test_id, step_key, page_key))


# ------------------------------------------------------------------------------ suites


class DynamoSuiteStore(DynamoRepository):
    """SuiteStore: suites (names unique per project through a guard item) and suite runs (written whole, on the
    condition of the ``version`` read)."""

    @staticmethod
    def _suite_item(suite: Suite) -> dict[str, Any]:
        pk = f"PROJECT#{suite.project_id}"
        keys = {
            "PK": pk,
            "SK": f"SUITE#{suite.id}",
            "gsi1pk": f"{pk}#SUITES",
            "gsi1sk": f"{suite.name.lower()}#{suite.id}",
        }
        data = suite.model_dump(mode="json") | {"project_id": suite.project_id}
        item = {k: _to_dynamo(v, k) for k, v in {**data, "type": "suite", **keys}.items()}
        _check_size(item, f"suite {suite.name!r}")
        return item

    def _name_guard(self, suite: Suite, name: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "PK": {"S": f"PROJECT#{suite.project_id}"},
                    "SK": {"S": f"SUITENAME#{name.lower()}"},
                    "suite_id": {"S": suite.id},
                    "type": {"S": "suite_name"},
                },
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _name_taken(self, suite: Suite) -> Conflict:
        return Conflict(f"the project has a suite named {suite.name!r} already", details={"field": "name"})

    def put_suite(self, suite: Suite) -> None:
        try:
            with translate(f"create suite {suite.id}"):
                self._db.transact_write_items(
                    TransactItems=[
                        self._name_guard(suite, suite.name),
                        {
                            "Put": {
                                "TableName": self._table,
                                "Item": self._suite_item(suite),
                                "ConditionExpression": "attribute_not_exists(PK)",
                            }
                        },
                    ]
                )
        except Conflict as exc:
            raise self._name_taken(suite) from exc

    def get_suite(self, project_id: str, suite_id: str) -> Suite:
        item = self._get(f"PROJECT#{project_id}", f"SUITE#{suite_id}", consistent=True)
        if item is None:
            raise NotFound(f"suite {suite_id} not found")
        return _load(Suite, item)

    def replace_suite(self, suite: Suite, *, previous_name: str) -> Suite:
        pk = f"PROJECT#{suite.project_id}"
        written = suite.model_copy(update={"version": suite.version + 1})
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._suite_item(written),
                    "ConditionExpression": "attribute_exists(PK) AND #v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": {"N": str(suite.version)}},
                }
            }
        ]
        if suite.name.lower() != previous_name.lower():
            items.append(self._name_guard(suite, suite.name))
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": {"PK": {"S": pk}, "SK": {"S": f"SUITENAME#{previous_name.lower()}"}},
                        "ConditionExpression": "suite_id = :sid",
                        "ExpressionAttributeValues": {":sid": {"S": suite.id}},
                    }
                }
            )
        try:
            with translate(f"update suite {suite.id}"):
                self._db.transact_write_items(TransactItems=items)
        except Conflict as exc:
            stored = self.get_suite(suite.project_id, suite.id)  # NotFound when it was deleted meanwhile
            if stored.version != suite.version:
                raise Conflict(f"suite {suite.id} changed meanwhile", details={"stale": True}) from exc
            raise self._name_taken(suite) from exc
        return written

    def delete_suite(self, project_id: str, suite_id: str) -> None:
        suite = self.get_suite(project_id, suite_id)
        pk = f"PROJECT#{project_id}"
        with translate(f"delete suite {suite_id}"):  # on the version read, so its name guard is the one deleted
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": {"PK": {"S": pk}, "SK": {"S": f"SUITE#{suite_id}"}},
                            "ConditionExpression": "#v = :v",
                            "ExpressionAttributeNames": {"#v": "version"},
                            "ExpressionAttributeValues": {":v": {"N": str(suite.version)}},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": {"PK": {"S": pk}, "SK": {"S": f"SUITENAME#{suite.name.lower()}"}},
                        }
                    },
                ]
            )

    def list_suites(self, project_id: str, *, limit: int, cursor: str | None) -> Page[Suite]:
        page = self._query_page(
            Suite,
            scope=scope_of("suites", project_id),
            index="gsi1",
            key_condition="gsi1pk = :pk",
            values={":pk": {"S": f"PROJECT#{project_id}#SUITES"}},
            filters=[],
            forward=True,
            limit=limit,
            cursor=cursor,
        )
        return page

    def find_suite(self, project_id: str, name: str) -> Suite | None:
        guard = self._get(f"PROJECT#{project_id}", f"SUITENAME#{name.lower()}", consistent=True)
        if guard is None:
            return None
        try:
            return self.get_suite(project_id, guard["suite_id"]["S"])
        except NotFound:
            return None

    @staticmethod
    def _suite_run_item(run: SuiteRun) -> dict[str, Any]:
        pk = f"PROJECT#{run.project_id}"
        created = f"{sort_time(run.created_at)}#{run.id}"
        keys = {
            "PK": pk,
            "SK": f"SUITERUN#{run.id}",
            "gsi1pk": f"{pk}#SUITE#{run.suite_id}#SUITERUNS",
            "gsi1sk": created,
            "gsi2pk": f"{pk}#SUITERUNS",
            "gsi2sk": created,
        }
        item = _item(keys, run, type="suite_run")
        _check_size(item, f"suite run {run.id}")
        return item

    def create_suite_run(self, run: SuiteRun) -> None:
        with translate(f"create suite run {run.id}"):
            self._db.put_item(
                TableName=self._table, Item=self._suite_run_item(run), ConditionExpression="attribute_not_exists(PK)"
            )

    def get_suite_run(self, project_id: str, suite_run_id: str) -> SuiteRun:
        item = self._get(f"PROJECT#{project_id}", f"SUITERUN#{suite_run_id}", consistent=True)
        if item is None:
            raise NotFound(f"suite run {suite_run_id} not found")
        return _load(SuiteRun, item)

    def update_suite_run(self, run: SuiteRun) -> SuiteRun:
        written = run.model_copy(update={"version": run.version + 1})
        try:
            with translate(f"update suite run {run.id}"):
                self._db.put_item(
                    TableName=self._table,
                    Item=self._suite_run_item(written),
                    ConditionExpression="attribute_exists(PK) AND #v = :v",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":v": {"N": str(run.version)}},
                )
        except Conflict as exc:
            raise Conflict(f"suite run {run.id} changed meanwhile (version {run.version} is stale)") from exc
        return written

    def list_suite_runs(
        self,
        project_id: str,
        *,
        suite_id: str | None,
        limit: int,
        cursor: str | None,
        labels: dict[str, str] | None = None,
    ) -> Page[SuiteRun]:
        pk = f"PROJECT#{project_id}"
        index, partition = ("gsi1", f"{pk}#SUITE#{suite_id}#SUITERUNS") if suite_id else ("gsi2", f"{pk}#SUITERUNS")
        values: dict[str, Any] = {":pk": {"S": partition}}
        names: dict[str, str] = {}
        filters: list[str] = []
        for i, (key, value) in enumerate(sorted((labels or {}).items())):
            names |= {"#labels": "labels", f"#lk{i}": key}
            values[f":lv{i}"] = {"S": value}
            filters.append(f"#labels.#lk{i} = :lv{i}")
        return self._query_page(
            SuiteRun,
            scope=scope_of("suite_runs", project_id, suite_id or "", sorted((labels or {}).items())),
            index=index,
            key_condition=f"{index}pk = :pk",
            values=values,
            names=names,
            filters=filters,
            forward=False,
            limit=limit,
            cursor=cursor,
        )
