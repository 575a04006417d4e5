"""The RunStore's list filters the dashboard and ``GET /v1/runs`` share, one suite run against the in-memory fake
and the DynamoDB repository (on moto): trigger, status, labels and since, alone and together."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoRepository
from shared.ids import new_id, utcnow
from shared.models.queries import RunQuery
from shared.models.runs import Run, RunRow, RunStatus, Trigger
from shared.models.tests import TestKind, TestSpec
from shared.settings import Settings
from tests.fakes import FakeStore

PROJECT = "prj_q"


@pytest.fixture(params=["fake", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[FakeStore | DynamoRepository]:
    if request.param == "fake":
        yield FakeStore()
        return
    settings: Settings = request.getfixturevalue("aws_settings")
    yield DynamoRepository(client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name)


def _run(
    store: FakeStore | DynamoRepository,
    trigger: Trigger,
    *,
    seconds_ago: int = 0,
    labels: dict[str, str] | None = None,
    project: str = PROJECT,
) -> Run:
    now = utcnow() - timedelta(seconds=seconds_ago)
    run = Run(
        id=new_id("run"),
        project_id=project,
        kind=TestKind.api,
        trigger=trigger,
        labels=labels or {},
        spec=TestSpec.model_validate({"steps": [{"action": "request", "url": "http://127.0.0.1:1/"}]}),
        timeout_s=60,
        created_at=now,
        updated_at=now,
    )
    store.create_run(run)
    return run


def test_runs_filtered_by_trigger_alone_and_with_the_other_filters(store: FakeStore | DynamoRepository) -> None:
    old_cli = _run(store, "cli", seconds_ago=600)
    scheduled = _run(store, "schedule", seconds_ago=300, labels={"env": "staging"})
    new_cli = _run(store, "cli", labels={"env": "staging"})
    _run(store, "cli", project="prj_other")

    def ids(**filters: object) -> list[str]:
        return [r.id for r in store.list_runs(RunQuery(project_id=PROJECT, **filters)).items]  # type: ignore[arg-type]

    assert ids(trigger="cli") == [new_cli.id, old_cli.id]
    assert ids(trigger="schedule") == [scheduled.id]
    assert ids(trigger="suite") == []
    assert ids(trigger="cli", labels={"env": "staging"}) == [new_cli.id]
    assert ids(trigger="cli", since=utcnow() - timedelta(seconds=60)) == [new_cli.id]
    assert ids(trigger="cli", status=RunStatus.queued) == [new_cli.id, old_cli.id]
    page = store.list_runs(RunQuery(project_id=PROJECT, trigger="cli", limit=1))
    assert [r.id for r in page.items] == [new_cli.id] and page.next_cursor
    rest = store.list_runs(RunQuery(project_id=PROJECT, trigger="cli", limit=1, cursor=page.next_cursor))
    assert [r.id for r in rest.items] == [old_cli.id]


def test_run_rows_are_the_runs_list_in_short(store: FakeStore | DynamoRepository) -> None:
    runs = [_run(store, "cli", seconds_ago=30 - i, labels={"n": str(i)}) for i in range(5)]
    query = RunQuery(project_id=PROJECT, trigger="cli", limit=2)
    full, rows = store.list_runs(query), store.list_run_rows(query)
    assert [r.id for r in rows.items] == [r.id for r in full.items] == [runs[4].id, runs[3].id]
    assert rows.items[0] == RunRow.model_validate(full.items[0].model_dump())
    assert rows.items[0].labels == {"n": "4"} and rows.items[0].kind == TestKind.api
    seen = [r.id for r in rows.items]
    cursor = rows.next_cursor
    while cursor:
        page = store.list_run_rows(query.model_copy(update={"cursor": cursor}))
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
    assert seen == [r.id for r in reversed(runs)]
