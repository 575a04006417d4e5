"""Run statistics of a test (`GET /v1/tests/{id}/stats`) and the project's flakiest tests (`GET /v1/stats/flaky`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.models.common import Model
from shared.models.runs import RunStatus


class LastFailure(Model):
    """The newest run in the window that did not pass."""

    run_id: str
    """The run's id."""
    at: datetime | None
    """When it ended (UTC, ISO 8601)."""
    status: RunStatus
    """`failed`, `error` or `timed_out`."""
    error: str | None
    """Why it did not pass."""


class TestStats(Model):
    """How a test's recent runs went: its newest `window` runs that ended (queued and running ones are left out).
    Cancelled runs are counted in `runs` and `cancelled` but in no rate and no duration: a cancel says nothing
    about the test. `failed` counts every run that did not pass (`failed`, `error`, `timed_out`; `by_status`
    tells them apart)."""

    __test__ = False

    test_id: str
    """The test's id."""
    name: str
    """The test's name."""
    window: int
    """How many ended runs were asked for (the newest first); `runs` is fewer when the test has fewer."""
    runs: int
    """The ended runs looked at."""
    passed: int
    """Of them, how many passed (flaky ones included)."""
    failed: int
    """How many did not pass: `failed`, `error` and `timed_out` runs."""
    cancelled: int
    """How many were cancelled (in no rate)."""
    by_status: dict[str, int] = Field(default_factory=dict)
    """The runs by status (only the statuses that occur)."""
    pass_rate: float | None
    """`passed / (runs - cancelled)`, from 0 to 1, rounded to 4 places; null when no run counts."""
    flaky: int
    """How many passed after an attempt that failed (`flaky: true`)."""
    flaky_rate: float | None
    """`flaky / (runs - cancelled)`, from 0 to 1, rounded to 4 places; null when no run counts."""
    duration_p50_ms: int | None
    """The median duration (of the last attempt of each run, cancelled runs left out), nearest-rank: the
    duration that half the runs are at or under; null without durations."""
    duration_p95_ms: int | None
    """The 95th percentile of the durations, nearest-rank (the `ceil(0.95 * n)`-th shortest); null without
    durations."""
    last_failure: LastFailure | None
    """The newest run that did not pass, or null."""
    last_run_at: datetime | None
    """When the newest run ended, or null with no runs."""


class FlakyTest(Model):
    """A test that passed only after a retry in some of the project's recent runs."""

    test_id: str
    """The test's id."""
    name: str | None
    """The test's name, as its newest run carried it."""
    runs: int
    """Its ended runs among the project's recent ones (cancelled ones left out)."""
    flaky: int
    """How many of them passed after an attempt that failed."""
    flaky_rate: float
    """`flaky / runs`, rounded to 4 places."""
    pass_rate: float
    """`passed / runs`, rounded to 4 places (flaky passes are passes)."""
    last_flaky_at: datetime | None
    """When its newest flaky run ended."""


class FlakyTests(Model):
    """The project's flakiest tests: those with a flaky run among the project's newest `window` ended runs,
    most flaky runs first, then the highest flaky rate, then the most recent flaky run."""

    window: int
    """How many of the project's newest ended runs were looked at (at most)."""
    runs: int
    """How many ended runs there were in it."""
    items: list[FlakyTest]
    """The tests, flakiest first (up to `limit`)."""
