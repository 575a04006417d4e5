"""Run statistics, flaky tests and label filters over a known history, the same over the fake store and over
DynamoDB on moto (the fake must filter and order as the adapter does)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoRepository
from shared.errors import InvalidInput, NotFound
from shared.ids import new_id, utcnow
from shared.models.queries import RunQuery
from shared.models.runs import Attempt, Run, RunStatus, StepResult
from shared.models.tests import Revision, TestCase, TestKind, TestSpec
from shared.services.stats import StatsService, nearest_rank
from shared.settings import Settings
from tests.fakes import FakeStore

PROJECT = "prj_a"
T0 = utcnow().replace(microsecond=0) - timedelta(days=1)

Store = FakeStore | DynamoRepository


@pytest.fixture(params=["fakes", "aws"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fakes":
        return FakeStore()
    settings: Settings = request.getfixturevalue("aws_settings")
    return DynamoRepository(client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name)


def a_test(store: Store, name: str, *, project: str = PROJECT) -> TestCase:
    test = TestCase(
        id=new_id("tst"),
        project_id=project,
        name=name,
        kind=TestKind.browser,
        latest_revision=1,
        created_at=T0,
        updated_at=T0,
    )
    spec = TestSpec.model_validate({"steps": [{"action": "goto", "url": "http://x"}]})
    revision = Revision(**spec.model_dump(), test_id=test.id, project_id=project, revision=1, created_at=T0)
    store.create_test(test, revision)
    return test


def a_run(
    store: Store,
    test: TestCase | None,
    minute: int,
    status: RunStatus,
    *,
    duration_ms: int | None = 1000,
    flaky: bool = False,
    labels: dict[str, str] | None = None,
    project: str = PROJECT,
    error: str | None = None,
) -> Run:
    created = T0 + timedelta(minutes=minute)
    ended: datetime | None = created + timedelta(seconds=30) if status.terminal else None
    run = Run(
        id=new_id("run"),
        project_id=project,
        test_id=test.id if test else None,
        revision=1 if test else None,
        name=test.name if test else "inline",
        kind=TestKind.browser,
        status=status,
        spec=TestSpec.model_validate({"steps": [{"action": "goto", "url": "http://x"}]}),
        timeout_s=60,
        created_at=created,
        updated_at=ended or created,
        ended_at=ended,
        duration_ms=duration_ms if status.terminal else None,
        flaky=flaky,
        labels=labels or {},
        error=error,
    )
    store.create_run(run)
    return run


# ---------------------------------------------------------------------------------- test stats


def test_stats_over_a_known_history(store: Store) -> None:
    # Given a test's history, oldest first (minute, status, duration, flaky)
    login = a_test(store, "Login")
    history = [
        (0, RunStatus.passed, 100, False),
        (1, RunStatus.failed, 200, False),
        (2, RunStatus.passed, 300, True),
        (3, RunStatus.cancelled, 9999, False),
        (4, RunStatus.passed, 400, False),
        (5, RunStatus.timed_out, 500, False),
        (6, RunStatus.passed, 600, True),
        (7, RunStatus.error, 700, False),
        (8, RunStatus.passed, 800, False),
        (9, RunStatus.passed, 900, False),
    ]
    runs = {m: a_run(store, login, m, s, duration_ms=d, flaky=f, error=f"why {m}") for m, s, d, f in history}
    # and runs that did not end yet, another test's, and another project's
    a_run(store, login, 10, RunStatus.running)
    a_run(store, login, 11, RunStatus.queued)
    a_run(store, a_test(store, "Other"), 12, RunStatus.failed)
    a_run(store, a_test(store, "Login", project="prj_b"), 13, RunStatus.failed, project="prj_b")
    stats = StatsService(tests=store, runs=store)

    # When its stats are asked for
    got = stats.test_stats(PROJECT, login.id, window=50)

    # Then the ten ended runs count, the cancelled one in no rate and no duration
    assert (got.runs, got.passed, got.failed, got.cancelled, got.flaky) == (10, 6, 3, 1, 2)
    assert got.by_status == {"passed": 6, "failed": 1, "timed_out": 1, "error": 1, "cancelled": 1}
    assert (got.pass_rate, got.flaky_rate) == (round(6 / 9, 4), round(2 / 9, 4))
    # nearest rank over 100..900: the 5th and the 9th of 9
    assert (got.duration_p50_ms, got.duration_p95_ms) == (500, 900)
    assert got.last_failure is not None
    assert (got.last_failure.run_id, got.last_failure.status, got.last_failure.error) == (
        runs[7].id,
        RunStatus.error,
        "why 7",
    )
    assert got.last_failure.at == runs[7].ended_at
    assert got.last_run_at == runs[9].ended_at
    assert (got.test_id, got.name, got.window) == (login.id, "Login", 50)

    # and a window of 4 is the newest four ended runs
    small = stats.test_stats(PROJECT, login.id, window=4)
    assert (small.runs, small.passed, small.failed, small.flaky) == (4, 3, 1, 1)
    assert (small.duration_p50_ms, small.duration_p95_ms) == (700, 900)


def test_stats_of_a_test_without_runs_and_of_an_unknown_one(store: Store) -> None:
    stats = StatsService(tests=store, runs=store)
    quiet = a_test(store, "Quiet")
    got = stats.test_stats(PROJECT, quiet.id)
    assert (got.runs, got.pass_rate, got.duration_p50_ms) == (0, None, None)
    assert (got.last_failure, got.last_run_at) == (None, None)
    with pytest.raises(NotFound):
        stats.test_stats(PROJECT, "tst_nope")
    with pytest.raises(NotFound):
        stats.test_stats("prj_b", quiet.id)  # another project's
    with pytest.raises(InvalidInput, match="window"):
        stats.test_stats(PROJECT, quiet.id, window=501)


def test_stats_page_past_more_runs_than_a_page() -> None:
    store = FakeStore()
    test = a_test(store, "Busy")
    for minute in range(250):
        a_run(store, test, minute, RunStatus.passed if minute % 5 else RunStatus.failed, duration_ms=minute)
    got = StatsService(tests=store, runs=store).test_stats(PROJECT, test.id, window=220)
    assert (got.runs, got.failed) == (220, 44)


def test_nearest_rank() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([7], 95) == 7
    assert nearest_rank([4, 1, 3, 2], 50) == 2
    assert nearest_rank(list(range(1, 101)), 95) == 95
    assert nearest_rank(list(range(1, 21)), 95) == 19


# --------------------------------------------------------------------------------- flaky tests


def test_the_flakiest_tests_come_first(store: Store) -> None:
    # Given tests with: 2 flaky of 4, 2 flaky of 2, 1 flaky of 5, none flaky, and an inline flaky run
    half, always, rarely, steady = (a_test(store, n) for n in ("Half", "Always", "Rarely", "Steady"))
    minute = 0
    for test, outcomes in (
        (half, ["flaky", "flaky", "passed", "failed"]),
        (always, ["flaky", "flaky", "cancelled"]),
        (rarely, ["flaky", "passed", "passed", "passed", "failed"]),
        (steady, ["passed", "passed", "failed"]),
    ):
        for outcome in outcomes:
            status = RunStatus.passed if outcome == "flaky" else RunStatus(outcome)
            a_run(store, test, minute, status, flaky=outcome == "flaky")
            minute += 1
    a_run(store, None, minute, RunStatus.passed, flaky=True)
    a_run(store, half, minute + 1, RunStatus.running)
    stats = StatsService(tests=store, runs=store)

    # When the flaky tests are listed
    got = stats.flaky_tests(PROJECT, window_runs=500, limit=20)

    # Then by flaky count, then flaky rate; the steady test and the inline run are not there
    assert [(t.name, t.flaky, t.runs) for t in got.items] == [("Always", 2, 2), ("Half", 2, 4), ("Rarely", 1, 5)]
    assert [(t.flaky_rate, t.pass_rate) for t in got.items] == [(1.0, 1.0), (0.5, 0.75), (0.2, 0.8)]
    assert got.runs == 16 and got.window == 500
    assert got.items[0].last_flaky_at is not None
    assert [t.name for t in stats.flaky_tests(PROJECT, limit=1).items] == ["Always"]
    # the newest 9 ended runs (the inline one, Steady's, Rarely's) hold only Rarely's flaky run
    assert [t.name for t in stats.flaky_tests(PROJECT, window_runs=9).items] == ["Rarely"]
    assert stats.flaky_tests("prj_b").items == []


# ------------------------------------------------------------------------------- label filters


def test_runs_are_filtered_by_every_label_given(store: Store) -> None:
    test = a_test(store, "Login")
    old = a_run(store, test, 0, RunStatus.passed, labels={"app_version": "1.4.1", "environment": "staging"})
    new = a_run(store, test, 1, RunStatus.failed, labels={"app_version": "1.4.2", "environment": "staging"})
    prod = a_run(store, test, 2, RunStatus.passed, labels={"app_version": "1.4.2", "environment": "prod"})
    a_run(store, test, 3, RunStatus.passed)
    a_run(store, test, 4, RunStatus.passed, labels={"app_version": "1.4.2"}, project="prj_b")

    def ids(**query: object) -> list[str]:
        return [r.id for r in store.list_runs(RunQuery.model_validate({"project_id": PROJECT, **query})).items]

    assert ids(labels={"app_version": "1.4.2"}) == [prod.id, new.id]
    assert ids(labels={"app_version": "1.4.2", "environment": "staging"}) == [new.id]
    assert ids(labels={"environment": "staging"}, test_id=test.id) == [new.id, old.id]
    assert ids(labels={"environment": "staging"}, status="passed") == [old.id]
    assert ids(labels={"app_version": "9"}) == []
    # a page of one, then the rest, through the cursor
    first = store.list_runs(RunQuery(project_id=PROJECT, labels={"environment": "staging"}, limit=1))
    assert [r.id for r in first.items] == [new.id] and first.next_cursor
    rest = store.list_runs(
        RunQuery(project_id=PROJECT, labels={"environment": "staging"}, limit=1, cursor=first.next_cursor)
    )
    assert [r.id for r in rest.items] == [old.id]


def test_attempt_records_round_trip(store: Store) -> None:
    test = a_test(store, "Login")
    run = a_run(store, test, 0, RunStatus.running)
    record = Attempt(
        attempt=1,
        status="failed",
        ended_at=T0,
        error="no 'Log in' button",
        steps=[StepResult(index=0, action="click", status="failed", error="no match", duration_ms=12)],
        artifacts=["report.html"],
    )
    stored = store.update_run(run.id, {"attempts": [record.model_dump(mode="json")]})
    assert stored.attempts == [record] == store.get_run(run.id).attempts
