"""Failure clusters over a known set of failures, the same over the fake store and over DynamoDB on moto: the
signature a run stores when it ends (a map attribute, read back through the run rows' projection), runs recorded
before signatures (worked out on read), counts, first and last seen, affected tests, the test filter, the window
and the scan bounds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.aws.clients import client
from shared.aws.dynamodb import DynamoRepository
from shared.errors import NotFound
from shared.ids import new_id, utcnow
from shared.models.runs import CheckResult, Run, RunCreate, RunStatus, StepResult
from shared.models.tests import Revision, TestCase, TestKind, TestSpec
from shared.services.catalog import Catalog
from shared.services.failures import failure_clusters
from shared.services.runs import RunService
from shared.services.signatures import failure_of
from shared.settings import Settings
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeStore

PROJECT = "prj_clusters"
T0 = utcnow().replace(microsecond=0) - timedelta(hours=20)
Store = FakeStore | DynamoRepository


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["fakes", "aws"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fakes":
        return FakeStore()
    settings: Settings = request.getfixturevalue("aws_settings")
    return DynamoRepository(client("dynamodb", settings.aws_region, settings.aws_endpoint_url), settings.table_name)


class History:
    """Runs started and ended through the run service (which stores each failure's signature), at known times."""

    def __init__(self, store: Store, project: str = PROJECT) -> None:
        self.store = store
        self.project = project
        self.clock = Clock()
        self.queue = FakeQueue()
        self.runs = RunService(
            tests=store, runs=store, queue=self.queue, events=FakeEvents(), artifacts=FakeArtifacts(), clock=self.clock
        )

    def test(self, name: str, kind: TestKind = TestKind.browser) -> TestCase:
        test = TestCase(
            id=new_id("tst"),
            project_id=self.project,
            name=name,
            kind=kind,
            latest_revision=1,
            created_at=T0,
            updated_at=T0,
        )
        step = (
            {"action": "request", "method": "GET", "url": "http://127.0.0.1:9/api"}
            if kind == TestKind.api
            else {"action": "goto", "url": "http://127.0.0.1:9/"}
        )
        spec = TestSpec.model_validate({"steps": [step]})
        revision = Revision(**spec.model_dump(), test_id=test.id, project_id=self.project, revision=1, created_at=T0)
        self.store.create_test(test, revision)
        return test

    def run(self, test: TestCase, minute: int, status: RunStatus, **changes: Any) -> Run:
        self.clock.now = T0 + timedelta(minutes=minute)
        run = self.runs.start_run(self.project, RunCreate(test_id=test.id))
        taken = self.runs.take(self.queue.sent[-1][0])
        assert taken is not None
        self.clock.now += timedelta(seconds=30)
        if status == RunStatus.cancelled:
            self.runs.cancel(self.project, run.id)
            taken = self.store.get_run(run.id)
        return self.runs.end_attempt(taken, status, **changes)

    def old_run(self, test: TestCase, minute: int, steps: list[StepResult], error: str) -> Run:
        """A failed run as one recorded before signatures were stored: none on its record."""
        created = T0 + timedelta(minutes=minute)
        run = Run(
            id=new_id("run"),
            project_id=self.project,
            test_id=test.id,
            revision=1,
            name=test.name,
            kind=test.kind,
            status=RunStatus.failed,
            spec=TestSpec.model_validate({"steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]}),
            timeout_s=60,
            created_at=created,
            updated_at=created,
            ended_at=created + timedelta(seconds=30),
            steps=steps,
            error=error,
        )
        self.store.create_run(run)
        return run


def click_timeout(ms: int, when: str) -> dict[str, Any]:
    error = f"Locator.click: Timeout {ms}ms exceeded. (page at {when}, session run_{new_id('x')[2:]})"
    steps = [
        StepResult(index=0, action="goto", status="passed", detail="http://127.0.0.1:5001/login?next=/x"),
        StepResult(index=1, action="click", status="failed", target='role=button name="Log in"', error=error),
    ]
    return {"steps": steps, "error": error}


def api_status(port: int, order: int, got: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/api/orders/{order}?trace={new_id('t')}"
    error = f"GET {url} -> {got} in {port % 97} ms: expected status 200, got {got}"
    check = CheckResult(check="status 200", passed=False, expected="200", actual=str(got))
    return {
        "steps": [
            StepResult(index=0, action="request", status="failed", detail=f"GET {url}", error=error, checks=[check])
        ]
    } | {"error": error}


@pytest.fixture
def history(store: Store) -> History:
    return History(store)


def known_failures(h: History) -> dict[str, Any]:
    login, checkout, api = h.test("Admin can log in"), h.test("Checkout"), h.test("Orders API", TestKind.api)
    runs = {
        "login": [
            h.run(login, 10, RunStatus.failed, **click_timeout(5000, "2026-01-02T09:00:00Z")),
            h.run(login, 20, RunStatus.failed, **click_timeout(7000, "2026-01-02T09:10:00Z")),
            h.run(login, 30, RunStatus.timed_out, **click_timeout(5000, "2026-01-02T09:20:00Z")),
        ],
        "checkout": [h.run(checkout, 40, RunStatus.failed, **click_timeout(5000, "2026-01-02T09:30:00Z"))],
        "old": [h.old_run(login, 5, **click_timeout(3000, "2026-01-01T23:00:00Z"))],
        "api500": [
            h.run(api, 50, RunStatus.failed, **api_status(5001, 17, 500)),
            h.run(api, 60, RunStatus.failed, **api_status(61234, 9876, 500)),
        ],
        "api404": [h.run(api, 70, RunStatus.failed, **api_status(5001, 17, 404))],
        "secret": [h.run(login, 80, RunStatus.error, error="secret 'ADMIN_PASSWORD' was not loaded for this run")],
        "passed": [h.run(login, 90, RunStatus.passed)],
        "cancelled": [h.run(checkout, 95, RunStatus.cancelled, error="cancelled")],
    }
    return {"tests": {"login": login, "checkout": checkout, "api": api}, "runs": runs}


def test_the_same_cause_is_one_cluster_and_other_causes_are_others(history: History) -> None:
    known = known_failures(history)
    runs, tests = known["runs"], known["tests"]
    stored = history.store.get_run(runs["login"][0].id)
    assert stored.failure is not None and stored.failure.kind == "timeout"  # stored when the run ended
    assert history.store.get_run(runs["passed"][0].id).failure is None
    assert history.store.get_run(runs["cancelled"][0].id).failure is None

    got = failure_clusters(history.runs, PROJECT, since=T0)

    assert [c.count for c in got.clusters] == [5, 2, 1, 1]
    assert got.failures == 9 and got.scanned == 9 and not got.truncated and got.covered_since is None
    assert got.old_run_reads == 1  # the run recorded before signatures, read in full
    login = got.clusters[0]
    assert login.step_action == "click" and login.step_target == 'role=button name="Log in"'
    assert login.kind == "timeout" and login.summary.startswith(
        'click role=button name="Log in": timeout: Locator.click'
    )
    assert login.by_status == {"failed": 4, "timed_out": 1}
    assert [(t.name, t.count) for t in login.tests] == [("Admin can log in", 4), ("Checkout", 1)]
    assert login.tests[0].test_id == tests["login"].id
    assert login.first_seen == runs["old"][0].ended_at and login.last_seen == runs["checkout"][0].ended_at
    assert login.sample_run_id == runs["checkout"][0].id
    assert login.run_ids[-1] == runs["old"][0].id and len(login.run_ids) == 5
    api500 = got.clusters[1]
    assert (api500.kind, api500.http_status, api500.step_target) == (
        "http_status",
        500,
        "GET http://<ip>/api/orders/<n>",
    )
    assert {r.id for r in runs["api500"]} == set(api500.run_ids)
    # the two clusters of one run each: the newest first
    assert [c.kind for c in got.clusters[2:]] == ["setup", "http_status"]
    assert got.clusters[3].http_status == 404
    assert got.clusters[2].step_action is None and got.clusters[2].tests[0].test_id == tests["login"].id


def test_filters_by_test_and_by_window(history: History) -> None:
    known = known_failures(history)
    tests = known["tests"]
    catalog = Catalog(history.store)
    of_api = failure_clusters(history.runs, PROJECT, since=T0, test_id=tests["api"].id, tests=catalog)
    assert [(c.count, c.http_status) for c in of_api.clusters] == [(2, 500), (1, 404)]
    of_checkout = failure_clusters(history.runs, PROJECT, since=T0, test_id=tests["checkout"].id, tests=catalog)
    assert [c.count for c in of_checkout.clusters] == [1] and of_checkout.failures == 1
    recent = failure_clusters(history.runs, PROJECT, since=T0 + timedelta(minutes=45))
    assert [(c.kind, c.count) for c in recent.clusters] == [("http_status", 2), ("setup", 1), ("http_status", 1)]
    assert recent.old_run_reads == 0
    with pytest.raises(NotFound):
        failure_clusters(history.runs, PROJECT, since=T0, test_id="tst_nope", tests=catalog)
    # another project's failures are not this one's
    assert failure_clusters(history.runs, "prj_other", since=T0).clusters == []


def test_the_scan_stops_at_its_bounds_and_says_so(history: History) -> None:
    known = known_failures(history)
    runs = known["runs"]
    bounded = failure_clusters(history.runs, PROJECT, since=T0, scan_limit=4)
    assert bounded.truncated and bounded.scanned == 4 and bounded.scan_limit == 4 and bounded.failures == 4
    # the newest four: the secret, the 404, the two 500s; covered back to the oldest of them
    assert bounded.covered_since == runs["api500"][0].created_at
    assert sorted(c.count for c in bounded.clusters) == [1, 1, 2]
    no_old_reads = failure_clusters(history.runs, PROJECT, since=T0, old_run_limit=0)
    assert no_old_reads.truncated and no_old_reads.scanned == 8 and no_old_reads.old_run_reads == 0
    assert no_old_reads.covered_since == runs["login"][0].created_at
    whole = failure_clusters(history.runs, PROJECT, since=T0, scan_limit=9)
    assert not whole.truncated and whole.scanned == 9


def test_a_stored_signature_matches_the_one_worked_out_on_read(history: History) -> None:
    known = known_failures(history)
    for group in ("login", "api500", "api404", "secret"):
        for run in known["runs"][group]:
            stored = history.store.get_run(run.id)
            assert stored.failure == failure_of(stored)
