"""The SuiteStore contract, run against the in-memory fake (unit tests) and the DynamoDB adapter (on moto, the
table as ``provision`` makes it): unique names, renames, versioned writes (no lost update, no stale name guard
under concurrent changes), suite runs written on their version, lists by suite and by labels, isolation."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoSuiteStore
from shared.errors import Conflict, NotFound
from shared.models.suites import Suite, SuiteChild, SuiteRun
from shared.ports import SuiteStore
from shared.settings import Settings
from tests.fakes import FakeSuiteStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=("fake", "dynamodb"))
def store(request: pytest.FixtureRequest) -> SuiteStore:
    if request.param == "fake":
        return FakeSuiteStore()
    settings: Settings = request.getfixturevalue("aws_settings")
    return DynamoSuiteStore(client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name)


def a_suite(project: str, name: str) -> Suite:
    return Suite(
        id=f"ste_{uuid.uuid4().hex[:20]}",
        project_id=project,
        name=name,
        tests=["tst_a"],
        created_at=NOW,
        updated_at=NOW,
    )


def a_suite_run(project: str, suite_id: str, at: datetime, labels: dict[str, str] | None = None) -> SuiteRun:
    return SuiteRun(
        id=f"srn_{uuid.uuid4().hex[:20]}",
        project_id=project,
        suite_id=suite_id,
        suite_name="S",
        mode="parallel",
        max_parallel=2,
        fail_fast=False,
        children=[SuiteChild(index=0, test_id="tst_a")],
        labels=labels or {},
        created_at=at,
        updated_at=at,
    )


def project() -> str:
    return f"prj_{uuid.uuid4().hex[:10]}"


def test_names_are_unique_per_project_case_insensitively(store: SuiteStore) -> None:
    p, q = project(), project()
    first = a_suite(p, "Nightly")
    store.put_suite(first)
    with pytest.raises(Conflict):
        store.put_suite(a_suite(p, "nightly"))
    store.put_suite(a_suite(q, "Nightly"))  # another project may
    assert store.find_suite(p, "NIGHTLY") == store.get_suite(p, first.id)
    with pytest.raises(NotFound):
        store.get_suite(q, first.id)


def test_a_rename_moves_the_name_and_a_stale_write_is_refused(store: SuiteStore) -> None:
    p = project()
    suite = a_suite(p, "Old")
    store.put_suite(suite)
    renamed = store.replace_suite(suite.model_copy(update={"name": "New"}), previous_name="Old")
    assert renamed.version == 2
    assert store.find_suite(p, "old") is None and store.find_suite(p, "new") is not None
    store.put_suite(a_suite(p, "Old"))  # the old name is free again
    with pytest.raises(Conflict) as stale:
        store.replace_suite(suite.model_copy(update={"max_parallel": 9}), previous_name="Old")  # version 1: stale
    assert stale.value.details == {"stale": True}
    with pytest.raises(Conflict) as taken:
        store.replace_suite(renamed.model_copy(update={"name": "old"}), previous_name="New")
    assert not (isinstance(taken.value.details, dict) and taken.value.details.get("stale"))


def test_concurrent_renames_leave_exactly_one_name_guard(store: SuiteStore) -> None:
    p = project()
    suite = a_suite(p, "race-0")
    store.put_suite(suite)

    def rename(n: int) -> None:
        for _ in range(20):
            current = store.get_suite(p, suite.id)
            try:
                store.replace_suite(current.model_copy(update={"name": f"race-{n}"}), previous_name=current.name)
                return
            except Conflict:
                continue

    threads = [threading.Thread(target=rename, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = store.get_suite(p, suite.id)
    assert [n for n in range(9) if store.find_suite(p, f"race-{n}") is not None] == [int(final.name.split("-")[1])]
    store.delete_suite(p, suite.id)
    assert store.find_suite(p, final.name) is None
    store.put_suite(a_suite(p, final.name))  # its name is free once it is deleted


def test_suite_runs_are_written_on_their_version_and_listed_newest_first(store: SuiteStore) -> None:
    p = project()
    suite = a_suite(p, "S")
    store.put_suite(suite)
    older = a_suite_run(p, suite.id, NOW, {"app_version": "1.4.2"})
    newer = a_suite_run(p, suite.id, NOW + timedelta(minutes=1), {"app_version": "1.5.0"})
    other = a_suite_run(p, "ste_other", NOW + timedelta(minutes=2))
    for run in (older, newer, other):
        store.create_suite_run(run)
    with pytest.raises(Conflict):
        store.create_suite_run(older)
    written = store.update_suite_run(older.model_copy(update={"error": "x"}))
    assert written.version == 2 and store.get_suite_run(p, older.id).error == "x"
    with pytest.raises(Conflict):
        store.update_suite_run(older)  # version 1 is stale
    assert [r.id for r in store.list_suite_runs(p, suite_id=suite.id, limit=10, cursor=None).items] == [
        newer.id,
        older.id,
    ]
    assert store.list_suite_runs(p, suite_id=None, limit=10, cursor=None).items[0].id == other.id
    by_label = store.list_suite_runs(p, suite_id=None, limit=10, cursor=None, labels={"app_version": "1.4.2"})
    assert [r.id for r in by_label.items] == [older.id]
    page = store.list_suite_runs(p, suite_id=suite.id, limit=1, cursor=None)
    assert page.next_cursor is not None
    assert [r.id for r in store.list_suite_runs(p, suite_id=suite.id, limit=1, cursor=page.next_cursor).items] == [
        older.id
    ]
    with pytest.raises(NotFound):
        store.get_suite_run(project(), older.id)
