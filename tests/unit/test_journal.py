"""Local mode's journal: which calls are journaled, in what order, and that nothing is applied that
could not be made durable first."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cli.local.persistence import LocalState
from shared.aws.journal import JournaledClient, NotJournaled, retarget
from shared.errors import Unavailable


class FakeMeta:
    method_to_api_mapping = {
        "put_item": "PutItem",
        "get_item": "GetItem",
        "query": "Query",
        "delete_table": "DeleteTable",
        "put_object": "PutObject",
        "scan": "Scan",
        "batch_write_item": "BatchWriteItem",
    }


class FakeClient:
    meta = FakeMeta()

    def __init__(self) -> None:
        self.applied: list[tuple[str, dict[str, Any]]] = []

    def put_item(self, **params: Any) -> dict[str, Any]:
        self.applied.append(("PutItem", params))
        return {}

    def put_object(self, **params: Any) -> dict[str, Any]:
        self.applied.append(("PutObject", params))
        return {}

    def get_item(self, **params: Any) -> dict[str, Any]:
        return {"Item": {"read": True}}

    def scan(self, **params: Any) -> dict[str, Any]:
        return {"Items": []}

    def upload_file(self, *args: Any) -> None:
        raise AssertionError("never reached")


class Sink:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, dict[str, Any], bytes | None]] = []

    def write(self, service: str, operation: str, params: dict[str, Any], body: bytes | None, apply: Any) -> Any:
        self.recorded.append((service, operation, params, body))
        return apply()


def test_writes_go_through_the_sink_reads_pass_and_other_writes_are_refused() -> None:
    inner, sink = FakeClient(), Sink()
    db = JournaledClient(inner, "dynamodb", sink)

    db.put_item(TableName="t", Item={"PK": {"S": "a"}})
    assert db.get_item(TableName="t", Key={}) == {"Item": {"read": True}}

    assert sink.recorded == [("dynamodb", "PutItem", {"TableName": "t", "Item": {"PK": {"S": "a"}}}, None)]
    assert inner.applied == [("PutItem", {"TableName": "t", "Item": {"PK": {"S": "a"}}})]
    with pytest.raises(NotJournaled, match="DeleteTable"):
        db.delete_table(TableName="t")
    s3 = JournaledClient(FakeClient(), "s3", sink)
    with pytest.raises(NotJournaled, match="upload_file writes past the journal"):
        s3.upload_file("f", "b", "k")


def test_an_object_body_travels_apart_from_the_recorded_params() -> None:
    inner, sink = FakeClient(), Sink()
    JournaledClient(inner, "s3", sink).put_object(Bucket="b", Key="k", Body=b"data", ContentType="text/plain")

    assert sink.recorded == [("s3", "PutObject", {"Bucket": "b", "Key": "k", "ContentType": "text/plain"}, b"data")]
    assert inner.applied[0][1]["Body"] == b"data"


def test_replayed_calls_aim_at_the_current_table_and_bucket() -> None:
    batch: dict[str, Any] = {"RequestItems": {"old": [{"PutRequest": {"Item": {}}}]}}
    assert retarget("dynamodb", "BatchWriteItem", batch, table="new", bucket="b") == {
        "RequestItems": {"new": [{"PutRequest": {"Item": {}}}]}
    }
    transact = {"TransactItems": [{"Put": {"TableName": "old", "Item": {}}}, {"Update": {"TableName": "old"}}]}
    assert [next(iter(i.values()))["TableName"] for i in retarget("dynamodb", "TransactWriteItems", transact,
            table="new", bucket="b")["TransactItems"]] == ["new", "new"]  # fmt: skip
    assert retarget("s3", "PutObject", {"Bucket": "old", "Key": "k"}, table="t", bucket="new")["Bucket"] == "new"


def _state(tmp_path: Path, inner: FakeClient) -> LocalState:
    state = LocalState(tmp_path, clients=lambda service: inner, table="t", bucket="b")
    state.restore()
    return state


def test_a_write_is_in_the_journal_before_it_is_applied(tmp_path: Path) -> None:
    inner = FakeClient()
    state = _state(tmp_path, inner)
    seen: list[list[str]] = []

    def apply() -> None:  # what is on disk when moto applies the call
        seen.append([line for f in sorted((tmp_path / "state" / "journal").glob("*.jsonl")) for line in
                     f.read_text().splitlines()])  # fmt: skip

    state.write("dynamodb", "PutItem", {"TableName": "t", "Item": {"PK": {"S": "x"}}}, None, apply)

    assert len(seen[0]) == 1 and '"PK":{"S":"x"}' in seen[0][0]
    assert json.loads(seen[0][0].split(" ", 1)[1])["seq"] == state.seq == 1


def test_a_write_that_cannot_be_journaled_is_not_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inner = FakeClient()
    state = _state(tmp_path, inner)

    real, failures = os.fdatasync, [OSError(28, "No space left on device")]

    def disk_full_once(fd: int) -> None:
        if failures:
            raise failures.pop()
        real(fd)

    monkeypatch.setattr(os, "fdatasync", disk_full_once)
    applied: list[int] = []
    with pytest.raises(Unavailable, match=r"could not write its journal \(No space left on device\): nothing was"):
        state.write("dynamodb", "PutItem", {"TableName": "t", "Item": {}}, None, lambda: applied.append(1))
    assert applied == []
    assert state.seq == 0
    state.write("dynamodb", "PutItem", {"TableName": "t", "Item": {}}, None, lambda: applied.append(1))
    assert applied == [1]
    journal = next((tmp_path / "state" / "journal").glob("*.jsonl")).read_text().splitlines()
    assert len(journal) == 1  # the failed line was taken back
