"""Failure signatures and clusters (`GET /v1/failures`), and run comparisons (`GET /v1/runs/{id}/compare/{other}`).

The rules (how a failure is normalized, how runs are grouped and compared) are in ``shared/services/signatures.py``,
``shared/services/failures.py`` and ``shared/services/comparison.py``; these are the shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.models.common import Model


class Failure(Model):
    """Why a run failed, normalized so that the same cause reads the same in every run: the first step that did not
    pass (its action and target), the kind of error, and the error's message with numbers, ids, timestamps, ports
    and URLs' query strings taken out. Recorded when a run ends `failed`, `error` or `timed_out`."""

    signature: str
    """The failure's signature: 16 hex digits of a hash of `action`, `target`, `kind`, `http_status` and `message`
    (not of the step's position, so a step added before it leaves the signature as it was). Runs with the same
    signature failed the same way."""
    step_index: int | None = None
    """The position of the first step that did not pass (from 0), or null when the run failed outside a step (a
    secret not defined, its worker stopped, its time ran out between steps)."""
    action: str | None = None
    """That step's action (`click`, `request`, ...), or null."""
    target: str | None = None
    """That step's target in short form, normalized as the message is (a `request` step: its method and URL path),
    or null."""
    kind: str
    """The kind of error, worked out from what the runner recorded: `timeout`, `target_not_found`,
    `target_ambiguous`, `expectation`, `navigation`, `http_status`, `check_failed`, `extract_failed`,
    `connection`, `refused` (the network guard), `setup` (a variable, secret or plan), `browser_crash`,
    `interrupted`, `runner_error`, `run_timeout`, `failure` or `error` (none of these)."""
    http_status: int | None = None
    """For a `request` step (or a page that answered an error status): the response's status, else null."""
    message: str
    """The error's message, normalized: numbers as `<n>`, ids as `<id>`, hex strings as `<hex>`, times as
    `<time>`, IP addresses as `<ip>`, URLs without port, query or fragment; what the runner adds about the page
    (what it shows, the elements it has) and the number of tries left out; up to 300 characters."""
    version: int = 1
    """The version of the normalization rules that made it (a signature of an older version is worked out again
    when the run is read)."""

    def summary(self) -> str:
        """The failure in one line: ``click role=button name="Log in": timeout: Locator.click: Timeout <n>ms ...``."""
        where = " ".join(part for part in (self.action, self.target) if part)
        kind = f"{self.kind} {self.http_status}" if self.http_status is not None else self.kind
        return f"{where}: {kind}: {self.message}" if where else f"{kind}: {self.message}"


# ------------------------------------------------------------------------------------ clusters


class ClusterTest(Model):
    """A test with runs in a cluster."""

    test_id: str
    """The test's id (`tst_...`)."""
    name: str | None = None
    """The test's name, as its newest run in the cluster recorded it."""
    count: int
    """How many of the cluster's runs are of this test."""


class FailureCluster(Model):
    """Runs that failed the same way (the same signature)."""

    signature: str
    """The failure signature the runs share."""
    summary: str
    """The failure in one line: the step's action and target, the kind of error and the normalized message."""
    step_action: str | None
    """The failing step's action, or null (a failure outside a step)."""
    step_target: str | None
    """The failing step's target (normalized), or null."""
    kind: str
    """The kind of error (see a run's `failure.kind`)."""
    http_status: int | None = None
    """The response status of a failing `request` step (or a page that answered an error), else null."""
    message: str
    """The normalized message."""
    count: int
    """How many runs of the window failed this way."""
    by_status: dict[str, int]
    """Those runs by how they ended: `failed`, `error`, `timed_out`."""
    tests: list[ClusterTest]
    """The tests they ran, most runs first."""
    inline_runs: int = 0
    """How many of them ran an inline spec (no saved test)."""
    first_seen: datetime
    """When the oldest of them ended (UTC, ISO 8601)."""
    last_seen: datetime
    """When the newest of them ended (UTC)."""
    sample_run_id: str
    """The newest of them (`run_...`), to look at first."""
    run_ids: list[str]
    """The newest of them, up to 10, newest first."""


class FailureClusters(Model):
    """The failed runs of a window, grouped by failure signature, the largest group first."""

    since: datetime
    """The start of the window: runs created at or after it (UTC)."""
    test_id: str | None = None
    """Only the runs of this test, or null."""
    suite_id: str | None = None
    """Only the runs of this suite's suite runs (those started in the window), or null."""
    failures: int
    """How many failed runs were grouped (`failed`, `error` and `timed_out`; cancelled runs are not failures)."""
    scanned: int
    """How many runs were read to find them."""
    scan_limit: int
    """The most runs one call reads (newest first)."""
    truncated: bool
    """Whether the call stopped at `scan_limit` (or at `old_run_limit`) before the start of the window: the
    clusters then cover the runs created since `covered_since`; ask for a shorter window or a test."""
    covered_since: datetime | None = None
    """When `truncated`: the creation time of the oldest run read; else null (the whole window was read)."""
    old_run_reads: int = 0
    """Failed runs recorded before failure signatures were stored, read in full to work theirs out."""
    old_run_limit: int
    """The most such runs one call reads in full."""
    clusters: list[FailureCluster]
    """The clusters: most runs first, then the most recent."""


# ---------------------------------------------------------------------------------- comparison


class CheckShown(Model):
    """A check of a `request` step that did not hold."""

    check: str
    """What was checked (`status 200`, `jsonpath $.name equals "Apples"`)."""
    expected: str | None = None
    """What was expected, as text."""
    actual: str | None = None
    """What the response had, as text."""


class StepSide(Model):
    """One step of one of the two runs, as the comparison shows it."""

    action: str
    """The step's action."""
    target: str | None = None
    """Its target in short form, or null."""
    detail: str | None = None
    """What it did besides its target (a URL, `POST <url>`), or null."""
    description: str | None = None
    """The step's own description, or null."""
    status: str
    """`passed`, `failed`, `error` or `skipped`."""
    duration_ms: int
    """How long it took."""
    error: str | None = None
    """Why it did not pass, or null."""
    locator: str | None = None
    """The locator that found its element, or null."""
    matched_by: str | None = None
    """The rule that chose the element (`exact`, `cache`, `healed`, ...), or null."""
    cache: str | None = None
    """`hit` or `miss` in the element cache, or null."""
    healed_to: str | None = None
    """When the target was healed: the replacement (short form), else null."""
    http_status: int | None = None
    """A `request` step's response status, when recorded; else null."""
    failing_checks: list[CheckShown] = Field(default_factory=list)
    """A `request` step's checks that did not hold."""


class StepComparison(Model):
    """One step position of the two runs."""

    index: int
    """The step's position, from 0 (the CLI and the reports count from 1)."""
    base: StepSide | None
    """The step in the first run, or null when that run has no step here."""
    other: StepSide | None
    """The step in the second run, or null."""
    same_step: bool
    """Whether both runs have a step here with the same action and target."""
    status_changed: bool
    """Whether the step's status differs."""
    duration_diff_ms: int | None
    """The second run's duration minus the first's, or null when one has no step here."""
    resolution_changed: bool
    """Whether the element was found differently (another locator or rule, healed in one run only)."""
    change: str | None
    """The change in words (`step 4 'click role=button name="Log in"' passed -> failed (...)`), or null."""


class RunSide(Model):
    """One of the two runs, in short."""

    id: str
    """The run's id."""
    test_id: str | None
    """Its test, or null (an inline spec)."""
    name: str | None
    """The test's name, or null."""
    revision: int | None
    """The revision it ran, or null."""
    status: str
    """How it ended (or where it is)."""
    attempt: int
    """Its last attempt's number."""
    created_at: datetime
    """When it was started."""
    duration_ms: int | None
    """How long it ran, or null."""
    error: str | None
    """Why it did not pass, or null."""
    steps: int
    """How many steps it has."""
    plan_digest: str
    """16 hex digits of a hash of its step plan (the steps as written): equal plans, equal digests."""
    failure: Failure | None = None
    """Its failure signature, when it failed."""


class RunComparison(Model):
    """Two runs step by step: what changed between the first (`base`) and the second (`other`)."""

    headline: str
    """The first thing to look at, in one line (`step 4 'click ...' passed -> failed (TimeoutError ...)`)."""
    base: RunSide
    """The first run (`{id}` of the path)."""
    other: RunSide
    """The second run (`{other_id}`)."""
    same_test: bool
    """Whether both ran the same test."""
    same_revision: bool
    """Whether both ran the same revision of it."""
    same_plan: bool
    """Whether both ran the same step plan (the same steps as written)."""
    notes: list[str]
    """What to know before reading the steps: other tests, revisions or plans, step counts, data-driven rows."""
    duration_diff_ms: int | None
    """The second run's duration minus the first's, or null."""
    changed_steps: list[int]
    """The positions (from 0) of the steps whose status changed."""
    steps: list[StepComparison]
    """Every step position of either run, aligned by position."""
