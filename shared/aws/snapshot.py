"""Dump and load the table and the artifact bucket, for local mode's persistence (moto keeps its
state only in memory). Not used in AWS, where DynamoDB and S3 persist by themselves.

Items travel in DynamoDB's own attribute-value JSON (``{"S": ...}``), so a dump loads back
byte for byte with every key and index attribute; binary attributes are base64 text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.aws.errors import translate
from shared.aws.journal import decode, encode

_BATCH = 25


def runs_with_status(items: Iterable[dict[str, Any]], statuses: Iterable[str]) -> list[tuple[str, str]]:
    """(project id, run id) of the run items of a dump whose status is one of ``statuses``."""
    wanted = {str(s) for s in statuses}
    return [
        (item["project_id"]["S"], item["id"]["S"])
        for item in items
        if item.get("type", {}).get("S") == "run" and item.get("status", {}).get("S") in wanted
    ]


class TableSnapshot:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def dump(self) -> list[dict[str, Any]]:
        """Every item (a full Scan: for local mode's snapshots, never on a request path)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
        while True:
            with translate(f"scan {self._table}"):
                response = self._db.scan(**params)
            items.extend(encode(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def load(self, items: Iterable[dict[str, Any]]) -> int:
        """Put ``items`` (as :meth:`dump` returned them); returns how many."""
        count = 0
        batch: list[dict[str, Any]] = []
        for item in items:
            batch.append({"PutRequest": {"Item": decode(item)}})
            if len(batch) == _BATCH:
                count += self._write(batch)
                batch = []
        if batch:
            count += self._write(batch)
        return count

    def _write(self, batch: list[dict[str, Any]]) -> int:
        pending: dict[str, Any] = {self._table: batch}
        for _ in range(10):
            with translate(f"restore {self._table}"):
                response = self._db.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return len(batch)
        raise RuntimeError(f"could not restore {len(pending[self._table])} items into {self._table}")


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str


class BucketSnapshot:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def list(self) -> Iterator[StoredObject]:
        params: dict[str, Any] = {"Bucket": self._bucket}
        while True:
            with translate(f"list {self._bucket}"):
                response = self._s3.list_objects_v2(**params)
            for obj in response.get("Contents", []):
                yield StoredObject(key=obj["Key"], size=int(obj["Size"]), etag=str(obj["ETag"]).strip('"'))
            if not response.get("IsTruncated"):
                return
            params["ContinuationToken"] = response["NextContinuationToken"]

    def read(self, key: str) -> tuple[bytes, str]:
        """The object's bytes and content type."""
        with translate(f"read {key}"):
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
            body: bytes = response["Body"].read()
        return body, str(response.get("ContentType") or "application/octet-stream")

    def write(self, key: str, data: bytes, *, content_type: str) -> None:
        with translate(f"restore {key}"):
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)
