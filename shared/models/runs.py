"""Runs: one execution of one revision (or of an inline spec, the "playground")."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from shared.models.common import (
    FreeText,
    Model,
    Name,
    NoControls,
    ObjectId,
    StorableInput,
    Tag,
    Variables,
    VarValue,
)
from shared.models.failures import Failure
from shared.models.priority import DEFAULT_PRIORITY, Priority
from shared.models.tests import (
    Concurrency,
    Dataset,
    RateLimit,
    Retries,
    TestKind,
    TestSpec,
    TimeoutS,
    kind_mismatch,
)


class RunStatus(StrEnum):
    """Where a run is: `queued -> running -> passed | failed | error | timed_out | cancelled`. `failed`: a step
    did not pass (an expectation, a target that matched nothing or several elements); `error`: the run could
    not be carried out (a variable or secret not defined, the browser crashed, the runner failed);
    `timed_out`: the run's `timeout_s` was up; `cancelled`: `POST /v1/runs/{id}/cancel`. An attempt that ends
    `failed`, `error` or `timed_out` with retries left goes back to `queued` as the next attempt (not one that
    could not start, such as a secret not defined)."""

    queued = "queued"
    running = "running"
    passed = "passed"
    failed = "failed"
    error = "error"
    timed_out = "timed_out"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({RunStatus.passed, RunStatus.failed, RunStatus.error, RunStatus.timed_out, RunStatus.cancelled})

#: The run state machine. ``running -> queued`` is a retry (a new attempt).
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.queued: frozenset({RunStatus.running, RunStatus.cancelled, RunStatus.error}),
    RunStatus.running: frozenset(
        {
            RunStatus.passed,
            RunStatus.failed,
            RunStatus.error,
            RunStatus.timed_out,
            RunStatus.cancelled,
            RunStatus.queued,
        }
    ),
    **{status: frozenset() for status in TERMINAL},
}


def can_transition(current: RunStatus, new: RunStatus) -> bool:
    return new in TRANSITIONS[current]


LABEL_KEY_PATTERN = r"^[A-Za-z0-9_.:/-]{1,64}$"
LabelKey = Annotated[str, Field(pattern=LABEL_KEY_PATTERN), NoControls]
LabelValue = Annotated[str, Field(max_length=256), NoControls]
#: labels that tell runs apart (the app version, the environment): up to 20
Labels = Annotated[dict[LabelKey, LabelValue], Field(max_length=20)]


Trigger = Literal["api", "cli", "suite", "schedule", "github"]


def parse_label_filter(text: str) -> tuple[str, str]:
    """``(key, value)`` of a label filter written ``key:value`` (split at the first colon, so the value may
    hold colons and the key may not). ValueError, saying why, for one that is not."""
    key, colon, value = text.partition(":")
    if not colon:
        raise ValueError(f"{text!r} is not key:value (e.g. app_version:1.4.2)")
    if not re.fullmatch(LABEL_KEY_PATTERN, key):
        raise ValueError(f"{key!r} is not a label key (1 to 64 letters, digits or _ . / -)")
    if len(value) > 256:
        raise ValueError(f"the value of {key!r} is longer than a label's 256 characters")
    return key, value


StepStatus = Literal["passed", "failed", "error", "skipped"]
#: the rule that chose a step's element: its name contains the target's (``substring``), equals it
#: (``exact``), equals it but for case and whitespace (``normalized``); ``unique``: a target with no name
#: (a role alone, css) that one element matches. A test id matches ``exact``.
MatchedBy = Literal[
    "substring", "exact", "normalized", "unique", "role", "label", "placeholder", "text", "fuzzy", "cache", "healed"
]


class InlineSpec(TestSpec):
    """A test run without saving it (`POST /v1/runs {"spec": ...}`): the test file's shape, as
    `POST /v1/tests` takes it, but `name` may be left out."""

    name: Name | None = None
    """A name for the run's results (1 to 200 characters; no control characters). Default: none."""
    kind: TestKind | None = None
    """`browser` or `api`. Default: inferred, `api` when every step is a `request` step, else `browser`."""
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    """Tags the run carries (up to 20, each 1 to 64 letters, digits or `_ . : / -`)."""
    description: FreeText | None = None
    """Free text about the test (up to 20,000 characters)."""

    @model_validator(mode="after")
    def _kind_fits(self) -> InlineSpec:
        problem = kind_mismatch(self.kind, self) if self.kind is not None else None
        if problem:
            raise ValueError(f"kind: {problem}")
        return self


class RunCreate(StorableInput):
    """A run to start (`POST /v1/runs`): of a saved test (`test_id`, optionally `revision`) or of an inline test
    (`spec`), exactly one of them. The run is queued (202) and executes in the background: follow it with
    `GET /v1/runs/{id}` or `GET /v1/runs/{id}/events`."""

    test_id: ObjectId | None = None
    """The id of a saved, active test to run (`tst_...`)."""
    revision: Annotated[int, Field(ge=1)] | None = None
    """The test's revision to run (1 or more). Default: its latest. Only with `test_id`."""
    spec: InlineSpec | None = None
    """A test to run without saving it: the shape of a test file (`POST /v1/tests`'s body)."""
    variables: Variables = Field(default_factory=dict)
    """Variables for this run, over the test's own of the same name (up to 200; names as in a test's
    `variables`)."""
    dataset: Dataset | None = None
    """Rows of variables for a data-driven run (up to 1,000), instead of the test's `dataset`. Default: the
    test's."""
    retries: Retries | None = None
    """How many times a failed attempt is tried again (0 to 5, and at most the deployment's
    `AUTOTEST_MAX_RETRIES`). Default: the test's `retries`."""
    concurrency: Concurrency | None = None
    """How many dataset rows run at once (1 to 64), instead of the test's `concurrency`. Default: the test's,
    else 8 for an API test and 1 for a browser test."""
    rate_limit: RateLimit | None = None
    """The most HTTP requests per second the run sends, all rows together, instead of the test's `rate_limit`.
    Default: the test's, else no limit."""
    timeout_s: TimeoutS | None = None
    """Seconds the whole run may take (1 to 3600, and at most the deployment's `AUTOTEST_MAX_RUN_TIMEOUT_S`).
    Default: the test's `timeout_s`, else `AUTOTEST_DEFAULT_RUN_TIMEOUT_S` (300)."""
    labels: Labels = Field(default_factory=dict)
    """Labels to tell runs apart (the CI job, the commit): up to 20, keys 1 to 64 letters, digits or
    `_ . : / -`, values up to 256 characters, no control characters."""
    trigger: Literal["api", "cli"] = "api"
    """Who starts the run: `api` (default) or `cli` (the CLI sets it)."""
    priority: Priority = DEFAULT_PRIORITY
    """`high`, `normal` or `low`: a worker takes every queued `high` run before a `normal` one, and every `normal`
    one before a `low` one. Default: `normal` (the CLI sends `high`: `autotest run` in CI, a pull request's check,
    goes before a nightly regression)."""

    @model_validator(mode="after")
    def _test_or_spec(self) -> RunCreate:
        if (self.test_id is None) == (self.spec is None):
            raise ValueError("give exactly one of 'test_id' (a saved test) or 'spec' (an inline test)")
        if self.revision is not None and self.test_id is None:
            raise ValueError("'revision' needs 'test_id'")
        return self


class Heal(Model):
    """A target that did not resolve as written, replaced by one the healer proposed and the runner verified."""

    before: str
    """The target as the step wrote it (short form)."""
    after: str
    """The replacement, as a target (short form)."""
    replacement: dict[str, Any]
    """The replacement as a structured target (what `POST /v1/runs/{id}/heals/accept` writes into the test)."""
    locator: str
    """The Playwright locator of the replacement."""
    score: float
    """How close the element's name is to what the step asked for (0 to 1)."""
    source: Literal["fuzzy", "bedrock", "cache"]
    """Who proposed it: the local fuzzy matcher, Bedrock, or the element cache (a heal remembered from a run before)."""
    reason: str
    """Why the original did not resolve (`matched nothing`, `matched 3 elements`)."""
    rejected: list[str] = Field(default_factory=list)
    """Candidates the runner checked and refused before this one, each with why."""


#: the most characters of an expected or actual value a check result shows
CHECK_SHOWN_CHARS = 200


class CheckResult(Model):
    """One check of a `request` step, as it came out: an expectation, the error-status rule (a step with no
    `status` expectation fails on a status of 400 and up), or an `extract` (which fails when its path finds
    nothing). Values are shown cut to 200 characters, secrets masked."""

    check: str
    """What was checked, in short: `status 200`, `jsonpath $.name equals "Apples"`, `expr size(body.items) > 0`,
    `extract order_id = $.items[0].id`, `status below 400`."""
    passed: bool
    """Whether it held."""
    expected: str | None = None
    """What was expected, as text; left out of a stored passed check in a large run (see `StepResult.checks`)."""
    actual: str | None = None
    """What the response had, as text (null when there was nothing to show); as `expected`."""


class StepResult(Model):
    """The result of one step of a run (secrets masked as `***`)."""

    index: int
    """The step's position in the plan, from 0."""
    action: str
    """The step's action (`goto`, `click`, ..., `request`)."""
    description: str | None = None
    """The step's own `description`, or null."""
    target: str | None = None
    """The step's target in short form (`role=button name="Log in"`, `label="Username"`), or null."""
    detail: str | None = None
    """What the step did besides its target: the URL of a `goto`, `POST <url>` of a request, the text an
    `expect_text` wanted; or null."""
    locator: str | None = None
    """The Playwright locator that found the element (`get_by_role("button", name="Log in")`), or null."""
    matched_by: MatchedBy | None = None
    """The rule that chose the element: `substring` (its name holds the target's as whole words), `exact` (equals it),
    `normalized` (equals it but for case and spaces), `unique` (a target with no name that one element
    matches); for a plain description, the kind of match that found it (`role` with the name, `label`,
    `placeholder`, `text`, `fuzzy`: a close name); `cache` (the element cache's locator, its fingerprint
    checked); `healed` (the healer's replacement, verified); null for a step without a target, or whose
    element was not found."""
    cache: Literal["hit", "miss"] | None = None
    """Whether the element cache knew this step's element on this page (`hit`: its locator was used), null for a
    step with no target or a run with no cache."""
    heal: Heal | None = None
    """How the target was healed (null when it resolved as written)."""
    status: StepStatus
    """`passed`, `failed` (an expectation or a target did not hold), `error` (the step could not be carried
    out), or `skipped` (not run: a step before it did not pass, or the run could not start)."""
    duration_ms: int = 0
    """How long the step took, in milliseconds."""
    error: str | None = None
    """Why the step did not pass, for a person; null when it passed."""
    screenshot: str | None = None
    """The storage key of the screenshot taken after the step (as the deployment's `AUTOTEST_SCREENSHOTS`
    says), or null; `GET /v1/runs/{id}/artifacts` gives its link."""
    healed: bool = False
    """Whether the target was replaced by a healed one (see `heal`)."""
    checks: Annotated[list[CheckResult], Field(exclude_if=lambda v: not v)] = Field(default_factory=list)
    """A `request` step's checks, each with whether it held and what was expected and found: the error-status
    rule, every expectation in order, then every `extract`. Left out when empty. A run whose results would not
    fit its record keeps less of what passed: first the expected and actual texts of passed checks, then the
    checks of passed steps (every check of every try is in the run's `report.html`)."""
    tries: Annotated[int | None, Field(exclude_if=lambda v: v is None)] = None
    """How many times a `request` step sent its request (more than 1 with `retry`); null for other steps."""

    def summary(self) -> str:
        """What the step did, in words: its description, else its target and detail."""
        subject = " ".join(part for part in (self.target, self.detail) if part)
        if self.description:
            return f"{self.description} ({subject})" if subject else self.description
        return subject


class Interruption(Model):
    """An attempt that never finished: its worker stopped (crashed, was killed, local mode restarted) and the run
    was executed again as the next attempt. An interruption is not a failure: it uses none of the retries."""

    attempt: int
    """The number of the attempt that never finished."""
    reason: str
    """Why it was found unfinished (its heartbeat went stale, local mode restarted)."""
    at: datetime
    """When it was found so (UTC, ISO 8601)."""


class Iteration(Model):
    """One dataset row of a data-driven run."""

    index: int
    """The row's position in the dataset, from 0."""
    variables: dict[str, Any] = Field(default_factory=dict)
    """The row's variables (secrets masked)."""
    status: RunStatus
    """How the row ended: `passed`, `failed`, `error`, `timed_out` or `cancelled`."""
    steps: list[StepResult] = Field(default_factory=list)
    """The row's step results, in order."""
    duration_ms: int | None = None
    """How long the row took, in milliseconds (null for a row that did not run)."""
    trimmed: Annotated[bool, Field(exclude_if=lambda v: not v)] = False
    """Whether some of the row's results were left out of the run's record to keep it within its storage limit
    (a large dataset): its steps' passed checks, or its steps (for a row that passed first). The run's
    `report.html` has every row in full."""


AttemptStatus = Literal["passed", "failed", "error", "timed_out", "cancelled", "interrupted"]


class Attempt(Model):
    """One execution of a run, as it ended. Every attempt a runner took is recorded once it ends: those that
    failed and were retried, those that were interrupted, and the last one. The step results are kept in
    short form (each step's index, action, target, status, duration, error and screenshot; the full form of
    every attempt is in its `report.html`); a data-driven attempt keeps its rows that did not pass (up to 10).
    When a run's records would grow past 64 KB, the oldest ones lose their steps and rows first (`trimmed`)."""

    attempt: int
    """The attempt's number (1 for the first)."""
    status: AttemptStatus
    """How it ended: `passed`, `failed`, `error`, `timed_out`, `cancelled`, or `interrupted` (it never finished:
    its worker stopped; the run was executed again, using none of its retries)."""
    started_at: datetime | None = None
    """When a runner took it (UTC, ISO 8601)."""
    ended_at: datetime
    """When it ended, or was found unfinished (UTC)."""
    duration_ms: int | None = None
    """How long it ran, in milliseconds."""
    error: str | None = None
    """Why it did not pass (for an interrupted attempt: why it was found unfinished); null when it passed."""
    steps: list[StepResult] = Field(default_factory=list)
    """Its step results in short form (see above)."""
    iterations: list[Iteration] = Field(default_factory=list)
    """For a data-driven run: its dataset rows that did not pass, in short form (up to 10)."""
    artifacts: list[str] = Field(default_factory=list)
    """The names of its own artifacts (as `GET /v1/runs/{id}/artifacts` lists them, with this `attempt`)."""
    trimmed: bool = False
    """Whether steps or rows were left out of this record (to keep the run within its storage limit, or rows
    past the first 10 that did not pass)."""


class RunStats(Model):
    """Counters of the planner, the element cache and the healer over the run."""

    cache_hits: int = 0
    """Targets found through the element cache."""
    cache_misses: int = 0
    """Targets the element cache did not know (or whose cached element no longer matched its fingerprint)."""
    heals: int = 0
    """Targets that did not resolve and were healed."""
    planner_calls: int = 0
    """Calls to a planner (the sentence grammar or a model) to turn the test's goal into steps; 0 when the plan
    was cached for the revision's content."""
    healer_calls: int = 0
    """Calls to the healer for a replacement target."""


def artifact_prefix(project_id: str, run_id: str, attempt: int) -> str:
    """Where the artifacts of one attempt of a run are stored: ``runs/{project}/{run}/attempt-{n}``."""
    return f"runs/{project_id}/{run_id}/attempt-{attempt}"


_ARTIFACT_KEY = re.compile(r"runs/(?P<project>[^/]+)/(?P<run>[^/]+)/attempt-(?P<attempt>[1-9][0-9]*)/(?P<name>.+)")


def split_artifact_key(key: str) -> tuple[str, str, int, str] | None:
    """``(project id, run id, attempt, name)`` of a key made under :func:`artifact_prefix`; None otherwise."""
    match = _ARTIFACT_KEY.fullmatch(key)
    if match is None:
        return None
    return match["project"], match["run"], int(match["attempt"]), match["name"]


class ArtifactRef(Model):
    name: str
    kind: Literal["screenshot", "video", "trace", "log", "report", "junit", "other"]
    key: str
    size: int = 0
    content_type: str = "application/octet-stream"


class Run(Model):
    """The stored run."""

    id: str
    project_id: str
    test_id: str | None = None
    revision: int | None = None
    name: str | None = None
    kind: TestKind
    status: RunStatus = RunStatus.queued
    attempt: int = 1
    max_attempts: int = 1
    trigger: Trigger = "api"
    #: which run queue its messages go to (high before normal before low)
    priority: Priority = DEFAULT_PRIORITY
    #: when its current attempt went on the queue (a retry's: when its backoff ended); none: stored before priority
    queued_at: datetime | None = None
    #: how long its latest attempt waited on the queue: ``queued_at`` to a runner taking it, in milliseconds
    queue_wait_ms: int | None = None
    suite_run_id: str | None = None
    schedule_id: str | None = None
    #: the due time of the schedule's firing that started it
    scheduled_for: datetime | None = None
    #: the batch its first attempt was started in (a suite run's children sent to one runner in one message)
    batch_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    spec: TestSpec
    variables: dict[str, VarValue] = Field(default_factory=dict)
    #: the names of the variables its last attempt's steps set (extracted, or changed)
    extracted: list[str] = Field(default_factory=list)
    dataset: list[dict[str, VarValue]] | None = None
    #: how many dataset rows run at once, and the most requests per second (None: no limit), as resolved
    concurrency: int = 1
    rate_limit: float | None = None
    timeout_s: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    heartbeat_at: datetime | None = None
    duration_ms: int | None = None
    steps: list[StepResult] = Field(default_factory=list)
    iterations: list[Iteration] = Field(default_factory=list)
    error: str | None = None
    #: passed after an attempt that failed (an interrupted attempt does not count)
    flaky: bool = False
    #: the attempts that were executed again because they never finished, oldest first
    interruptions: list[Interruption] = Field(default_factory=list)
    #: every attempt that ended (retried, interrupted, the last one), oldest first
    attempts: list[Attempt] = Field(default_factory=list)
    stats: RunStats = Field(default_factory=RunStats)
    artifacts: list[ArtifactRef] = Field(default_factory=list)
    artifact_errors: list[str] = Field(default_factory=list)
    browser_version: str | None = None
    cancel_requested: bool = False
    correlation_id: str | None = None
    #: why it failed, normalized (``shared/services/signatures.py``): set when it ends failed, error or timed_out
    failure: Failure | None = None


class RunControl(Model):
    """What a runner that holds a run polls while it executes it: whether the run is still the attempt it holds,
    and whether a cancel was asked for. A small read (three fields), not the whole run."""

    status: RunStatus
    attempt: int = 1
    cancel_requested: bool = False


class RunRow(Model):
    """A run as a list of runs shows it (the dashboard's runs table, a test's recent runs): no spec, no step
    results, no artifacts, so that a page of 200 reads a small part of each stored run."""

    id: str
    project_id: str
    test_id: str | None = None
    revision: int | None = None
    name: str | None = None
    kind: TestKind
    status: RunStatus
    attempt: int = 1
    max_attempts: int = 1
    trigger: Trigger = "api"
    suite_run_id: str | None = None
    schedule_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: int | None = None
    error: str | None = None
    flaky: bool = False
    stats: RunStats = Field(default_factory=RunStats)
    failure: Failure | None = None


#: the stored fields a :class:`RunRow` reads
RUN_ROW_FIELDS: tuple[str, ...] = tuple(RunRow.model_fields)


class RunPublic(Model):
    """A run: one execution of one revision of a test (or of an inline spec), with its status and step results.
    Secret values are masked (`***`) throughout."""

    id: str
    """The run's id (`run_` and 26 characters, sortable by creation time)."""
    test_id: str | None
    """The test it runs; null for an inline spec."""
    revision: int | None
    """The test's revision it runs; null for an inline spec."""
    name: str | None
    """The test's name (or the inline spec's), or null."""
    kind: TestKind
    """`browser` or `api`: an `api` run starts no browser."""
    status: RunStatus
    """Where the run is; `passed`, `failed`, `error`, `timed_out` and `cancelled` are final."""
    attempt: int
    """The number of the current (or last) attempt: 1, then one more for each retry and for each interrupted
    attempt executed again."""
    max_attempts: int
    """1 plus the run's `retries`: the attempts failures may use (interruptions use none)."""
    trigger: Trigger
    """Who started the run: `api`, `cli`, `suite` (a child run of a suite run) or `schedule`."""
    priority: Priority = DEFAULT_PRIORITY
    """`high`, `normal` or `low`: workers take high before normal before low (a suite run's children have the
    suite run's, a schedule's runs the schedule's)."""
    queue_wait_ms: int | None = None
    """How long its latest attempt waited in the queue, in milliseconds: from being queued (started, or retried
    once its backoff was over) to a runner taking it; null until a runner takes it."""
    suite_run_id: str | None
    """The suite run it belongs to, or null."""
    schedule_id: str | None
    """The schedule that started it, or null."""
    scheduled_for: datetime | None = None
    """For a run a schedule started: the due time it was started for (UTC); else null."""
    labels: dict[str, str]
    """The labels the run was started with."""
    tags: list[str] = Field(default_factory=list)
    """The test's tags (the inline spec's), as they were when the run started."""
    variables: dict[str, VarValue]
    """The variables: the test's, then the run's over them, and once it ends those its steps extracted (`extract`
    steps, a request's `extract`); secrets masked. A data-driven run's rows are in `iterations`."""
    extracted: list[str] = Field(default_factory=list)
    """The names of the variables its (last attempt's) steps set: what a `sequential` suite hands on to the tests
    after it."""
    created_at: datetime
    """When the run was started (UTC, ISO 8601)."""
    started_at: datetime | None
    """When a runner took its latest attempt (UTC, ISO 8601), or null before the first."""
    ended_at: datetime | None
    """When it ended (UTC), or null until it does."""
    duration_ms: int | None
    """How long it ran, in milliseconds, or null until it ends."""
    steps: list[StepResult]
    """The step results, in order, as they are written (a data-driven run has them in `iterations`)."""
    iterations: list[Iteration]
    """One entry per dataset row of a data-driven run, in dataset order; empty otherwise."""
    concurrency: int = 1
    """How many dataset rows run at once (the run's `concurrency`, else the test's, else 8 for an API test and 1
    for a browser test)."""
    rate_limit: float | None = None
    """The most HTTP requests per second the run sends, all rows together; null: no limit."""
    error: str | None
    """Why the run did not pass (the first failing step's error, or what stopped it); null when it passed."""
    flaky: bool
    """Whether it passed after an attempt that failed (passing after an interruption is not flaky)."""
    interruptions: list[Interruption] = Field(default_factory=list)
    """The attempts that never finished and were executed again as the next attempt, oldest first. After 3,
    a fourth ends the run `error`."""
    attempts: list[Attempt] = Field(default_factory=list)
    """Every attempt that ended, oldest first: those that failed and were retried, those interrupted, and the
    last one (once the run ends), each with its own steps (short form), error and artifact names."""
    stats: RunStats
    """Planner, element cache and healer counters."""
    cancel_requested: bool
    """Whether a cancel was asked for while the run was running: it stops between steps."""
    browser_version: str | None
    """The Chromium version a browser run used, or null (an API run, or not started)."""
    artifact_errors: list[str]
    """Artifacts that could not be kept, each with the reason (an upload failed, a secret could not be removed
    from a video or trace)."""
    failure: Failure | None = None
    """Why it failed, normalized (the first step that did not pass, the kind of error, the message without ids,
    numbers or times), with the signature `GET /v1/failures` groups runs by; null for a run that did not fail
    (passed, cancelled, not ended) or that ended before signatures were recorded."""

    @classmethod
    def of(cls, run: Run) -> RunPublic:
        return cls.model_validate(run.model_dump())


class RunSummary(Model):
    """Step counts of a run, in its status events."""

    total_steps: int = 0
    passed_steps: int = 0
    failed_steps: int = 0
    duration_ms: int | None = None
    error: str | None = None

    @classmethod
    def of(cls, run: Run) -> RunSummary:
        steps = run.steps or [s for it in run.iterations for s in it.steps]
        return cls(
            total_steps=len(steps),
            passed_steps=sum(1 for s in steps if s.status == "passed"),
            failed_steps=sum(1 for s in steps if s.status in ("failed", "error")),
            duration_ms=run.duration_ms,
            error=run.error,
        )


class Artifact(Model):
    """A file a run produced, with a link to download it."""

    name: str
    """Its name within its attempt: `report.html`, `junit.xml`, `video.webm`, `trace.zip`,
    `screenshots/step-000.png`; a dataset row's are under `row-<n>/` (rows from 1)."""
    kind: str
    """`screenshot`, `video`, `trace`, `log`, `report`, `junit` or `other`."""
    size: int
    """Its size in bytes."""
    content_type: str
    """Its media type (`image/png`, `text/html`, ...)."""
    attempt: int | None = None
    """The attempt that produced it (1 for the first); each attempt's artifacts are its own."""
    url: str
    """A link to it that needs no API key, valid for the deployment's `AUTOTEST_PRESIGN_TTL_S` (1 h): a
    presigned S3 URL in AWS, a signed link to `GET /v1/artifacts/{token}/{name}` in local mode."""


class ArtifactList(Model):
    """The artifacts of every attempt of a run, with their links."""

    artifacts: list[Artifact]
    """Screenshots, video, trace, logs, `report.html` and `junit.xml`, in the order they were stored."""
