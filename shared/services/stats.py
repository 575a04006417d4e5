"""Run statistics: how a test's recent runs went, and which tests of a project are flakiest.

Both read the newest runs that ended, newest first (a test's through the runs-of-a-test index, a project's
through the runs-of-a-project index), skipping queued and running ones. The rules:

- ``passed`` includes flaky passes; ``failed`` counts every run that did not pass (failed, error, timed_out);
- cancelled runs are counted in the window but in no rate and no duration (a cancel says nothing about the
  test): ``pass_rate = passed / (runs - cancelled)``, ``flaky_rate = flaky / (runs - cancelled)``;
- durations are each run's ``duration_ms`` (its last attempt's); percentiles are nearest-rank: the p-th is
  the ``ceil(p/100 * n)``-th shortest, always a duration that occurred.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from shared.errors import InvalidInput
from shared.models.queries import RunQuery
from shared.models.runs import Run, RunStatus
from shared.models.stats import FlakyTest, FlakyTests, LastFailure, TestStats
from shared.ports import RunStore, TestStore

MAX_WINDOW = 500
#: list calls one statistic makes at most (each returns up to a page of runs)
_MAX_CALLS = 40
_PAGE = 100


def nearest_rank(values: list[int], percentile: float) -> int | None:
    """The ``percentile``-th (0 < p <= 100) of ``values`` by the nearest-rank rule; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percentile / 100 * len(ordered))) - 1]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _check_window(name: str, value: int) -> None:
    if not 1 <= value <= MAX_WINDOW:
        raise InvalidInput(f"{name}: {value} is not between 1 and {MAX_WINDOW}", details={"field": name})


@dataclass
class _Tally:
    runs: list[Run] = field(default_factory=list)

    @property
    def counted(self) -> list[Run]:
        return [r for r in self.runs if r.status != RunStatus.cancelled]

    @property
    def passed(self) -> int:
        return sum(1 for r in self.runs if r.status == RunStatus.passed)

    @property
    def flaky(self) -> list[Run]:
        return [r for r in self.runs if r.status == RunStatus.passed and r.flaky]


class StatsService:
    def __init__(self, *, tests: TestStore, runs: RunStore) -> None:
        self._tests = tests
        self._runs = runs

    def _ended(self, query: RunQuery, window: int) -> Iterator[Run]:
        """Up to ``window`` runs of ``query`` that ended, newest first."""
        seen, cursor = 0, None
        for _ in range(_MAX_CALLS):
            page = self._runs.list_runs(query.model_copy(update={"cursor": cursor, "limit": _PAGE}))
            for run in page.items:
                if run.status.terminal:
                    yield run
                    seen += 1
                    if seen == window:
                        return
            cursor = page.next_cursor
            if cursor is None:
                return

    def test_stats(self, project_id: str, test_id: str, *, window: int = 50) -> TestStats:
        """The statistics of the newest ``window`` (1 to 500) ended runs of a test of the project (NotFound
        for a test the project does not have)."""
        _check_window("window", window)
        test = self._tests.get_test(project_id, test_id)
        tally = _Tally(list(self._ended(RunQuery(project_id=project_id, test_id=test_id), window)))
        counted = tally.counted
        failures = [r for r in counted if r.status != RunStatus.passed]
        last = failures[0] if failures else None
        durations = [r.duration_ms for r in counted if r.duration_ms is not None]
        by_status: dict[str, int] = {}
        for run in tally.runs:
            by_status[run.status.value] = by_status.get(run.status.value, 0) + 1
        return TestStats(
            test_id=test.id,
            name=test.name,
            window=window,
            runs=len(tally.runs),
            passed=tally.passed,
            failed=len(failures),
            cancelled=len(tally.runs) - len(counted),
            by_status=by_status,
            pass_rate=_rate(tally.passed, len(counted)),
            flaky=len(tally.flaky),
            flaky_rate=_rate(len(tally.flaky), len(counted)),
            duration_p50_ms=nearest_rank(durations, 50),
            duration_p95_ms=nearest_rank(durations, 95),
            last_failure=(
                LastFailure(run_id=last.id, at=last.ended_at, status=last.status, error=last.error) if last else None
            ),
            last_run_at=_ended_at(tally.runs[0]) if tally.runs else None,
        )

    def flaky_tests(self, project_id: str, *, window_runs: int = 500, limit: int = 20) -> FlakyTests:
        """The tests with a flaky run among the project's newest ``window_runs`` (1 to 500) ended runs: most
        flaky runs first, then the highest flaky rate, then the newest flaky run; up to ``limit``."""
        _check_window("window", window_runs)
        if limit < 1:
            raise InvalidInput(f"limit: {limit} is below 1", details={"field": "limit"})
        by_test: dict[str, _Tally] = {}
        total = 0
        for run in self._ended(RunQuery(project_id=project_id), window_runs):
            total += 1
            if run.test_id is not None:  # inline specs have no test to rank
                by_test.setdefault(run.test_id, _Tally()).runs.append(run)
        items = []
        for test_id, tally in by_test.items():
            counted = tally.counted
            flaky = tally.flaky
            if not flaky or not counted:
                continue
            items.append(
                FlakyTest(
                    test_id=test_id,
                    name=tally.runs[0].name,
                    runs=len(counted),
                    flaky=len(flaky),
                    flaky_rate=round(len(flaky) / len(counted), 4),
                    pass_rate=round(tally.passed / len(counted), 4),
                    last_flaky_at=_ended_at(flaky[0]),
                )
            )
        oldest = datetime.min.isoformat()
        items.sort(
            key=lambda t: (t.flaky, t.flaky_rate, t.last_flaky_at.isoformat() if t.last_flaky_at else oldest),
            reverse=True,
        )
        return FlakyTests(window=window_runs, runs=total, items=items[:limit])


def _ended_at(run: Run) -> datetime | None:
    return run.ended_at or run.updated_at
