"""Failure clusters: the failed runs of a window grouped by failure signature (``GET /v1/failures``).

A run's signature is worked out once, when it ends (``RunService.transition`` stores ``run.failure``:
``shared/services/signatures.py``), so listing reads run rows (no step results) through the runs-by-status
index: one query stream per failure status (``failed``, ``error``, ``timed_out``), newest first, merged. With
``test_id``, the runs-of-a-test index instead; with ``suite_id``, the child runs of the suite's suite runs started
in the window (only of those suite runs with a child that failed).

A run that ended before signatures were stored (or whose signature is of older rules) has none on its row: it is
read in full and its signature worked out on read, so old failures still cluster.

Bounds, so that one call costs what it says: it reads at most :data:`SCAN_LIMIT` runs (newest first) and at most
:data:`OLD_RUN_LIMIT` of them in full; when either is reached before the start of the window it stops there and
says so (``truncated``, ``covered_since``: the clusters then cover the newest runs only).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from shared.errors import InvalidInput
from shared.models.failures import ClusterTest, Failure, FailureCluster, FailureClusters
from shared.models.pages import Page
from shared.models.queries import RunQuery
from shared.models.runs import Run, RunRow
from shared.models.suites import Suite, SuiteRun
from shared.models.tests import TestCase
from shared.services import signatures

#: the most runs one call reads
SCAN_LIMIT = 2000
#: the most runs without a stored signature one call reads in full
OLD_RUN_LIMIT = 200
#: the window when none is given
DEFAULT_WINDOW = timedelta(hours=24)
#: the longest relative window (``90d``)
MAX_WINDOW = timedelta(days=366)
#: run ids a cluster lists
CLUSTER_RUN_IDS = 10
_PAGE = 100
#: how a suite run's child ends that is no failure (a suite run whose children all ended so is not read)
_NOT_FAILED = frozenset({"passed", "cancelled", "skipped"})
_RELATIVE = re.compile(r"(\d{1,6})\s*(m|min|h|d|w)")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Runs(Protocol):
    """What clustering reads of runs (``RunService``)."""

    def list_run_rows(self, query: RunQuery) -> Page[RunRow]: ...

    def get_run(self, project_id: str, run_id: str) -> Run: ...


class Tests(Protocol):
    def get_test(self, project_id: str, test_id: str) -> TestCase: ...


class SuiteRuns(Protocol):
    """What clustering reads of suites (``SuiteService``)."""

    def get(self, project_id: str, suite_id: str) -> Suite: ...

    def list_runs(
        self,
        project_id: str,
        *,
        suite_id: str | None = None,
        labels: dict[str, str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[SuiteRun]: ...


def parse_since(text: str | None, now: datetime) -> datetime:
    """The start of a window: ``None`` or empty for the last 24 hours; a duration back from ``now`` (``30m``,
    ``24h``, ``7d``, ``2w``; up to 366 days); or an ISO 8601 time (UTC when it names no zone), not in the future.
    InvalidInput (a 422) that says what it takes otherwise."""
    if text is None or not text.strip():
        return now - DEFAULT_WINDOW
    text = text.strip()
    relative = _RELATIVE.fullmatch(text.lower())
    if relative:
        span = timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        if span > MAX_WINDOW:
            raise InvalidInput(f"query.since: {text!r} is longer than 366 days", details={"field": "since"})
        return now - span
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise InvalidInput(
            f"query.since: {text[:40]!r} is neither a duration (30m, 24h, 7d, 2w) nor an ISO 8601 time "
            "(2026-01-31T09:00:00Z)",
            details={"field": "since"},
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=now.tzinfo)
    if when > now:
        raise InvalidInput(f"query.since: {text[:40]!r} is in the future", details={"field": "since"})
    return when


@dataclass
class _Group:
    failure: Failure
    runs: list[RunRow] = field(default_factory=list)

    def cluster(self) -> FailureCluster:
        runs = sorted(self.runs, key=_seen, reverse=True)
        by_test: dict[str, list[RunRow]] = {}
        by_status: dict[str, int] = {}
        for run in runs:
            by_status[run.status.value] = by_status.get(run.status.value, 0) + 1
            if run.test_id:
                by_test.setdefault(run.test_id, []).append(run)
        tests = [ClusterTest(test_id=tid, name=rows[0].name, count=len(rows)) for tid, rows in by_test.items()]
        tests.sort(key=lambda t: -t.count)
        f = self.failure
        return FailureCluster(
            signature=f.signature,
            summary=f.summary(),
            step_action=f.action,
            step_target=f.target,
            kind=f.kind,
            http_status=f.http_status,
            message=f.message,
            count=len(runs),
            by_status=by_status,
            tests=tests,
            inline_runs=sum(1 for r in runs if r.test_id is None),
            first_seen=_seen(runs[-1]),
            last_seen=_seen(runs[0]),
            sample_run_id=runs[0].id,
            run_ids=[r.id for r in runs[:CLUSTER_RUN_IDS]],
        )


def _seen(run: RunRow) -> datetime:
    return run.ended_at or run.created_at


def _newest_first(row: RunRow) -> tuple[datetime, str]:
    return row.created_at, row.id


class _Scan:
    def __init__(self, runs: Runs, project_id: str) -> None:
        self.runs = runs
        self.project_id = project_id
        self.scanned = 0
        self.old_reads = 0
        self.truncated = False
        self.covered_since: datetime | None = None

    def rows(self, query: RunQuery) -> Iterator[RunRow]:
        cursor = None
        while True:
            page = self.runs.list_run_rows(query.model_copy(update={"cursor": cursor, "limit": _PAGE}))
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return

    @staticmethod
    def needs_read(row: RunRow) -> bool:
        """Whether the row has no stored signature of the current rules (a run that ended before they were)."""
        return row.failure is None or row.failure.version != signatures.VERSION

    def failure(self, row: RunRow) -> Failure | None:
        """The row's stored failure, or (none, or one of older rules) the one its full run gives."""
        if not self.needs_read(row):
            return row.failure
        self.old_reads += 1
        return signatures.failure_of(self.runs.get_run(self.project_id, row.id))


def _statuses(scan: _Scan, query: RunQuery) -> Iterator[RunRow]:
    """The failed runs of ``query`` (without a status), newest first: one stream per failure status, merged."""
    streams = [
        scan.rows(query.model_copy(update={"status": status}))
        for status in sorted(signatures.FAILURE_STATUSES, key=lambda s: s.value)
    ]
    return heapq.merge(*streams, key=_newest_first, reverse=True)


def _suite_children(scan: _Scan, suites: SuiteRuns, project_id: str, suite_id: str, base: RunQuery) -> Iterator[RunRow]:
    """The child runs of the suite's suite runs started since ``base.since`` (but those where none failed), newest
    suite run first."""
    cursor = None
    while True:
        page = suites.list_runs(project_id, suite_id=suite_id, limit=_PAGE, cursor=cursor)
        for suite_run in page.items:
            if base.since is not None and suite_run.created_at < base.since:
                return
            if suite_run.children and all(c.status in _NOT_FAILED for c in suite_run.children):
                continue  # none of its runs failed: not read
            query = base.model_copy(update={"suite_run_id": suite_run.id, "since": None})
            yield from sorted(scan.rows(query), key=_newest_first, reverse=True)
        cursor = page.next_cursor
        if cursor is None:
            return


def failure_clusters(
    runs: Runs,
    project_id: str,
    *,
    since: datetime,
    test_id: str | None = None,
    suite_id: str | None = None,
    tests: Tests | None = None,
    suites: SuiteRuns | None = None,
    scan_limit: int = SCAN_LIMIT,
    old_run_limit: int = OLD_RUN_LIMIT,
) -> FailureClusters:
    """The project's runs that failed (``failed``, ``error``, ``timed_out``) created since ``since``, grouped by
    failure signature: most runs first, then the most recent. ``test_id``: only that test's (NotFound for a test
    the project does not have, with ``tests``); ``suite_id``: only the runs of that suite's suite runs (NotFound
    likewise; needs ``suites``). Reads at most ``scan_limit`` runs and ``old_run_limit`` of them in full."""
    if test_id is not None and tests is not None:
        tests.get_test(project_id, test_id)
    scan = _Scan(runs, project_id)
    base = RunQuery(project_id=project_id, test_id=test_id, since=since)
    if suite_id is not None:
        if suites is None:
            raise InvalidInput("query.suite_id: this deployment has no suites", details={"field": "suite_id"})
        suites.get(project_id, suite_id)
        stream = _suite_children(scan, suites, project_id, suite_id, base)
    else:
        stream = _statuses(scan, base)
    groups: dict[str, _Group] = {}
    failures = 0
    for row in stream:
        failed = row.status in signatures.FAILURE_STATUSES
        if scan.scanned >= scan_limit or (failed and scan.needs_read(row) and scan.old_reads >= old_run_limit):
            scan.truncated = True
            break
        scan.scanned += 1
        scan.covered_since = row.created_at
        if not failed:
            continue
        failure = scan.failure(row)
        if failure is None:
            continue
        failures += 1
        groups.setdefault(failure.signature, _Group(failure)).runs.append(row)
    clusters = [group.cluster() for group in groups.values()]
    clusters.sort(key=lambda c: (c.count, c.last_seen), reverse=True)
    return FailureClusters(
        since=since,
        test_id=test_id,
        suite_id=suite_id,
        failures=failures,
        scanned=scan.scanned,
        scan_limit=scan_limit,
        truncated=scan.truncated,
        covered_since=scan.covered_since if scan.truncated else None,
        old_run_reads=scan.old_reads,
        old_run_limit=old_run_limit,
        clusters=clusters,
    )
