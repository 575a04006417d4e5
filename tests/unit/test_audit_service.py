"""The audit service's rules: what a record holds, how long it is kept, the resource filter, and a recorder that
never raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import InvalidInput, Unavailable
from shared.models.audit import MAX_USER_AGENT_CHARS, AuditRecord
from shared.models.projects import Principal
from shared.services.audit import AuditOrigin, AuditService, parse_resource
from tests.fakes import FakeAuditStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ALICE = Principal(project_id="p1", key_id="key_a", key_name="alice", role="editor")
ORIGIN = AuditOrigin(source_ip="203.0.113.7", user_agent="x" * 2000, correlation_id="cor-1")


def test_a_record_holds_who_what_where_and_expires_after_the_retention() -> None:
    store = FakeAuditStore(clock=lambda: NOW)
    service = AuditService(store, retention_days=30, clock=lambda: NOW)

    record = service.recorder(ALICE, ORIGIN).record("revision.create", "test", "tst_1", revision=3)

    assert record is not None and store.all() == [record]
    assert (record.project_id, record.key_id, record.key_name, record.role) == ("p1", "key_a", "alice", "editor")
    assert (record.action, record.resource_kind, record.resource_id, record.revision) == (
        "revision.create",
        "test",
        "tst_1",
        3,
    )
    assert (record.source_ip, record.correlation_id, record.at) == ("203.0.113.7", "cor-1", NOW)
    assert record.user_agent == "x" * MAX_USER_AGENT_CHARS
    assert record.expires_at == int((NOW + timedelta(days=30)).timestamp())
    assert record.id.startswith("aud_")


def test_a_recorder_never_raises_and_says_what_it_could_not_store() -> None:
    store = FakeAuditStore()
    store.fail = Unavailable("down")
    missed: list[AuditRecord] = []
    recorder = AuditService(store).recorder(ALICE, ORIGIN, on_unrecorded=missed.append)

    assert recorder.record("secret.put", "secret", "TOKEN") is None
    assert [r.resource_id for r in missed] == ["TOKEN"] and store.records == {}


@pytest.mark.parametrize(
    ("text", "parsed"),
    [(None, (None, None)), ("", (None, None)), ("test", ("test", None)), ("secret:A.b-1", ("secret", "A.b-1"))],
)
def test_the_resource_filter(text: str | None, parsed: tuple[str | None, str | None]) -> None:
    assert parse_resource(text) == parsed


@pytest.mark.parametrize("text", ["widget", "test:", "test:a b", "Test", ":tst_1", "test:" + "a" * 129])
def test_a_bad_resource_filter_is_a_422_naming_it(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"query\.resource: .*KIND:ID"):
        parse_resource(text)
