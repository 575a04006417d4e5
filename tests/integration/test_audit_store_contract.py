"""The AuditStore contract, one suite run against the in-memory fake and the DynamoDB store (on moto): newest
first, the filters (resource kind, kind and id, actor, since, and together), pages, project isolation, expired
records left out, and append-only (a record is never overwritten; the store has no other write)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb_audit import DynamoAuditStore
from shared.errors import Conflict, InvalidInput
from shared.models.audit import AuditQuery, AuditRecord, ResourceKind
from shared.ports import AuditStore
from shared.settings import Settings
from tests.fakes import FakeAuditStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=("fake", "dynamodb"))
def store(request: pytest.FixtureRequest) -> AuditStore:
    clock = lambda: NOW  # noqa: E731
    if request.param == "fake":
        return FakeAuditStore(clock=clock)
    settings: Settings = request.getfixturevalue("aws_settings")
    db = client("dynamodb", settings.aws_region, settings.aws_endpoint_url)
    return DynamoAuditStore(db, settings.table_name, clock=clock)


def a_record(
    minute: int,
    *,
    project: str = "p1",
    kind: ResourceKind = "test",
    resource_id: str = "tst_1",
    key_id: str = "key_a",
    expires_in: timedelta = timedelta(days=365),
    **changes: Any,
) -> AuditRecord:
    at = NOW - timedelta(hours=1) + timedelta(minutes=minute)
    return AuditRecord(
        id=f"aud_{minute:04d}{project}",
        project_id=project,
        at=at,
        action="test.update" if kind == "test" else "secret.put",
        resource_kind=kind,
        resource_id=resource_id,
        revision=minute if kind == "test" else None,
        key_id=key_id,
        key_name=f"name of {key_id}",
        role="editor",
        source_ip="127.0.0.1",
        user_agent="contract/1",
        correlation_id=f"cor-{minute}",
        details={"fields": ["name", "tags"], "n": minute, "ok": True, "none": None},
        expires_at=int((NOW + expires_in).timestamp()),
        **changes,
    )


def ids(store: AuditStore, **filters: Any) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        page = store.list_records(
            AuditQuery(project_id=filters.pop("project_id", "p1"), limit=2, cursor=cursor, **filters)
        )
        out += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return out


@pytest.fixture
def filled(store: AuditStore) -> AuditStore:
    store.append(a_record(0))
    store.append(a_record(1, resource_id="tst_2"))
    store.append(a_record(2, key_id="key_b"))
    store.append(a_record(3, kind="secret", resource_id="ADMIN_PASSWORD"))
    store.append(a_record(4, key_id="key_b", resource_id="tst_2"))
    store.append(a_record(5, expires_in=timedelta(seconds=-1)))  # expired: never listed
    store.append(a_record(6, project="p2"))  # another project's
    return store


def test_records_come_back_whole_newest_first_in_pages(filled: AuditStore) -> None:
    assert ids(filled) == ["aud_0004p1", "aud_0003p1", "aud_0002p1", "aud_0001p1", "aud_0000p1"]
    (back,) = [r for r in filled.list_records(AuditQuery(project_id="p1", limit=50)).items if r.id == "aud_0002p1"]
    assert back == a_record(2, key_id="key_b")


def test_filters_by_resource_actor_and_since_alone_and_together(filled: AuditStore) -> None:
    assert ids(filled, resource_kind="test") == ["aud_0004p1", "aud_0002p1", "aud_0001p1", "aud_0000p1"]
    assert ids(filled, resource_kind="test", resource_id="tst_2") == ["aud_0004p1", "aud_0001p1"]
    assert ids(filled, resource_kind="secret", resource_id="ADMIN_PASSWORD") == ["aud_0003p1"]
    assert ids(filled, actor="key_b") == ["aud_0004p1", "aud_0002p1"]
    assert ids(filled, resource_kind="test", resource_id="tst_1", actor="key_b") == ["aud_0002p1"]
    assert ids(filled, resource_kind="secret", actor="key_b") == []
    two = a_record(2).at
    assert ids(filled, since=two) == ["aud_0004p1", "aud_0003p1", "aud_0002p1"]  # at or after
    assert ids(filled, since=two + timedelta(microseconds=1)) == ["aud_0004p1", "aud_0003p1"]
    assert ids(filled, actor="key_a", since=two) == ["aud_0003p1"]
    assert ids(filled, resource_kind="test", since=two) == ["aud_0004p1", "aud_0002p1"]
    assert ids(filled, since=NOW + timedelta(days=1)) == []


def test_one_project_never_reads_another_projects_records(filled: AuditStore) -> None:
    assert ids(filled, project_id="p2") == ["aud_0006p2"]
    assert ids(filled, project_id="p3") == []
    first = filled.list_records(AuditQuery(project_id="p1", limit=2))
    assert first.next_cursor is not None
    with pytest.raises(InvalidInput):
        filled.list_records(AuditQuery(project_id="p2", limit=2, cursor=first.next_cursor))
    with pytest.raises(InvalidInput):  # the same project, other filters
        filled.list_records(AuditQuery(project_id="p1", actor="key_a", limit=2, cursor=first.next_cursor))


def test_records_are_append_only(store: AuditStore) -> None:
    original = a_record(0)
    store.append(original)

    with pytest.raises(Conflict):
        store.append(original.model_copy(update={"action": "test.archive", "key_id": "key_mallory"}))

    (kept,) = store.list_records(AuditQuery(project_id="p1", limit=10)).items
    assert kept == original
    public = {name for name, _ in inspect.getmembers(store, callable) if not name.startswith("_")}
    assert public & {"append", "list_records"} == {"append", "list_records"}
    writes = {n for n in public if any(w in n for w in ("update", "delete", "put", "replace", "remove", "write"))}
    assert writes == set()  # no way to change or delete a record


def test_the_deployment_wiring_records_writes_in_dynamodb(aws_settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from functions.api.app import create_app
    from shared.aws.factory import build_services
    from tests.conftest import BOOTSTRAP_KEY

    # Given the API over the services a deployment builds (DynamoDB on moto)
    app = TestClient(create_app(build_services(aws_settings)))
    headers = {"X-API-Key": BOOTSTRAP_KEY, "User-Agent": "wiring/1", "X-Correlation-Id": "cor-wiring"}

    # When a test is created and the log is read
    test_id = app.post(
        "/v1/tests", json={"name": "T", "steps": [{"action": "goto", "url": "http://x"}]}, headers=headers
    )
    listed = app.get("/v1/audit", params={"resource": f"test:{test_id.json()['id']}"}, headers=headers)

    # Then the record is there, with who and from where
    assert listed.status_code == 200, listed.text
    (record,) = listed.json()["items"]
    assert (record["action"], record["revision"], record["key_id"]) == ("test.create", 1, "bootstrap")
    assert (record["user_agent"], record["correlation_id"], record["source_ip"]) == (
        "wiring/1",
        "cor-wiring",
        "testclient",
    )
