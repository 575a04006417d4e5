"""Suites (named sets of tests) and suite runs (one execution of a suite: child runs, aggregated)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.models.common import FreeText, Model, Name, ObjectId, StorableInput, Tag, Variables, VarValue
from shared.models.priority import DEFAULT_PRIORITY, Priority
from shared.models.runs import Labels, Trigger
from shared.models.tests import Retries, TestKind, TimeoutS

SuiteMode = Literal["parallel", "sequential"]
#: the most tests a suite may hold (explicitly or through its selector)
MAX_SUITE_TESTS = 200
MaxParallel = Annotated[int, Field(ge=1, le=50)]


class Selector(StorableInput):
    """The tests a suite takes by what they are: active tests holding every tag in `tags` and, with `kind`,
    of that kind."""

    tags: Annotated[list[Tag], Field(min_length=1, max_length=20)]
    """Tags a test must all hold (1 to 20)."""
    kind: TestKind | None = None
    """`browser` or `api`; default: either."""


class SuiteFields(StorableInput):
    """The fields a suite shares between `POST` and `PATCH`."""

    description: FreeText | None = None
    """Free text about the suite (up to 20,000 characters)."""
    tests: Annotated[list[ObjectId], Field(max_length=MAX_SUITE_TESTS)] | None = None
    """The ids of the tests it runs, in order (up to 200; the order a `sequential` suite runs them in)."""
    selector: Selector | None = None
    """Tests taken by tags (and kind) when the suite runs, ordered by name, after any of `tests`."""
    mode: SuiteMode = "parallel"
    """`parallel`: every test at once, up to `max_parallel`; `sequential`: one after another, each receiving the
    variables the earlier ones extracted (a scenario)."""
    max_parallel: MaxParallel = 5
    """How many child runs of a `parallel` suite run at once (1 to 50)."""
    fail_fast: bool = False
    """Stop at the first test that does not pass: the tests not started yet are `skipped`."""
    variables: Variables = Field(default_factory=dict)
    """Variables for every test, over the tests' own (up to 200)."""
    labels: Labels = Field(default_factory=dict)
    """Labels every suite run and child run carries (`app_version`, `environment`, ...)."""
    retries: Retries | None = None
    """Retries of each child run (0 to 5); default: each test's own."""
    timeout_s: TimeoutS | None = None
    """Seconds each child run may take; default: each test's own."""


class SuiteCreate(SuiteFields):
    """A new suite (`POST /v1/suites`): the tests it runs (`tests`, `selector`, or both) and how. The same shape
    is the CLI's suite file (`autotest suites create -f FILE`)."""

    name: Name
    """The suite's name, unique in the project (1 to 200 characters)."""

    @model_validator(mode="after")
    def _has_tests(self) -> SuiteCreate:
        if not self.tests and self.selector is None:
            raise ValueError("a suite needs tests: give 'tests' (test ids) or 'selector' (tags), or both")
        return self


class SuiteUpdate(StorableInput):
    """Changes to a suite (`PATCH /v1/suites/{id}`): the fields given replace the stored ones; at least one.
    Suite runs already started keep what they started with."""

    name: Name | None = None
    """A new name, unique in the project. Cannot be null."""
    description: FreeText | None = None
    """A new description; null clears it."""
    tests: Annotated[list[ObjectId], Field(max_length=MAX_SUITE_TESTS)] | None = None
    """The test ids it runs, replacing the old ones (`[]` or null: none, then it needs a `selector`)."""
    selector: Selector | None = None
    """The tags (and kind) it takes tests by; null removes it (then it needs `tests`)."""
    mode: SuiteMode | None = None
    """`parallel` or `sequential`. Cannot be null."""
    max_parallel: MaxParallel | None = None
    """Child runs at once, 1 to 50. Cannot be null."""
    fail_fast: bool | None = None
    """Whether the first test that does not pass skips the rest. Cannot be null."""
    variables: Variables | None = None
    """The variables for every test, replacing the old ones. Cannot be null."""
    labels: Labels | None = None
    """The labels of its runs, replacing the old ones. Cannot be null."""
    retries: Retries | None = None
    """Retries of each child run (0 to 5); null: each test's own."""
    timeout_s: TimeoutS | None = None
    """Seconds each child run may take; null: each test's own."""

    @model_validator(mode="after")
    def _something(self) -> SuiteUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to update: give at least one of the suite's fields")
        required = ("name", "mode", "max_parallel", "fail_fast", "variables", "labels")
        nulls = [f for f in required if f in self.model_fields_set and getattr(self, f) is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self


class Suite(Model):
    """The stored suite (and, as it is, the public one)."""

    id: str
    """The suite's id (`ste_...`)."""
    project_id: str = Field(exclude=True)
    name: str
    """Its name, unique in the project."""
    description: str | None = None
    """Free text about it, or null."""
    tests: list[str] = Field(default_factory=list)
    """The test ids it names, in order."""
    selector: Selector | None = None
    """The tags (and kind) it takes tests by, or null."""
    mode: SuiteMode = "parallel"
    """`parallel` or `sequential`."""
    max_parallel: int = 5
    """Child runs at once, for `parallel`."""
    fail_fast: bool = False
    """Whether the first test that does not pass skips the rest."""
    variables: dict[str, VarValue] = Field(default_factory=dict)
    """Variables for every test."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels of its runs."""
    retries: int | None = None
    """Retries of each child run; null: each test's own."""
    timeout_s: int | None = None
    """Seconds each child run may take; null: each test's own."""
    created_at: datetime
    """When it was created (UTC)."""
    updated_at: datetime
    """When it last changed (UTC)."""
    version: int = 1
    """1 when created, one more with each change."""


class SuiteRunStatus(StrEnum):
    """`queued -> running -> passed | failed | error | cancelled`: `passed` when every child run passed;
    `failed` when one failed, timed out or was cancelled on its own; `error` when one could not be carried out
    (and none failed); `cancelled` when the suite run was cancelled."""

    queued = "queued"
    running = "running"
    passed = "passed"
    failed = "failed"
    error = "error"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self not in (SuiteRunStatus.queued, SuiteRunStatus.running)


#: where one test of a suite run is: ``pending`` (not started yet: waiting for its turn), a run's status, or
#: ``skipped`` (never started: an earlier one failed under ``fail_fast``, or the suite run was cancelled)
ChildStatus = Literal["pending", "queued", "running", "passed", "failed", "error", "timed_out", "cancelled", "skipped"]
CHILD_DONE = frozenset({"passed", "failed", "error", "timed_out", "cancelled", "skipped"})


class SuiteChild(Model):
    """One test of a suite run, and the run that executes it."""

    index: int
    """Its position in the suite run, from 0."""
    test_id: str
    """The test."""
    name: str | None = None
    """The test's name when the suite run started."""
    kind: TestKind | None = None
    """The test's kind when the suite run started (`browser` children may be batched; null in older suite runs)."""
    run_id: str | None = None
    """Its run (`run_...`), once started; null while `pending` or when `skipped`."""
    status: ChildStatus = "pending"
    """`pending`, then its run's status (`queued`, `running`, `passed`, ...); `skipped` if it never started."""
    attempt: int = 0
    """The attempt its run is on (0 before it starts)."""
    batch: str | None = None
    """When its first attempt was started in a batch (children sent to one runner in one message: one browser, a
    context each, in turn), the batch's id (the run id of its first child), as its run records it; null when it
    went alone. A retry goes alone."""
    flaky: bool = False
    """Whether its run passed after an attempt that failed."""
    duration_ms: int | None = None
    """How long its run took, once ended."""
    error: str | None = None
    """Why it did not pass (its run's error, or why it could not start or was skipped)."""

    @property
    def done(self) -> bool:
        return self.status in CHILD_DONE


class SuiteRunCounts(Model):
    """How many child runs are in each state."""

    total: int = 0
    """Every child."""
    pending: int = 0
    """Not started yet: waiting for their turn."""
    queued: int = 0
    """Started, waiting for a runner."""
    running: int = 0
    """Running now."""
    passed: int = 0
    """Passed (flaky ones too)."""
    failed: int = 0
    """Failed: a step did not pass."""
    error: int = 0
    """Could not be carried out (or could not start)."""
    timed_out: int = 0
    """Ran out of time."""
    cancelled: int = 0
    """Cancelled."""
    skipped: int = 0
    """Never started: `fail_fast` stopped the suite, or it was cancelled."""
    flaky: int = 0
    """Child runs that passed after an attempt that failed (counted in `passed` too)."""

    @classmethod
    def of(cls, children: list[SuiteChild]) -> SuiteRunCounts:
        counts: dict[str, int] = {"total": len(children), "flaky": sum(1 for c in children if c.flaky)}
        for child in children:
            counts[child.status] = counts.get(child.status, 0) + 1
        return cls(**counts)


class SuiteRunCreate(StorableInput):
    """A suite run to start (`POST /v1/suites/{id}/runs`): optional variables and labels over the suite's."""

    variables: Variables = Field(default_factory=dict)
    """Variables over the suite's (up to 200)."""
    labels: Labels = Field(default_factory=dict)
    """Labels over the suite's: the target the suite runs for (`app_version: 1.4.2`, `environment: staging`)."""
    retries: Retries | None = None
    """Retries of each child run (0 to 5), over the suite's."""
    trigger: Literal["api", "cli"] = "api"
    """Who starts it: `api` (default) or `cli`."""
    priority: Priority = DEFAULT_PRIORITY
    """`high`, `normal` or `low`, for every child run: workers take high before normal before low. Default:
    `normal` (the CLI sends `high`; a schedule gives its own)."""


class SuiteRun(Model):
    """The stored suite run; ``version`` guards every write (optimistic concurrency)."""

    id: str
    project_id: str
    suite_id: str
    suite_name: str
    mode: SuiteMode
    max_parallel: int
    fail_fast: bool
    status: SuiteRunStatus = SuiteRunStatus.queued
    children: list[SuiteChild] = Field(default_factory=list)
    counts: SuiteRunCounts = Field(default_factory=SuiteRunCounts)
    variables: dict[str, VarValue] = Field(default_factory=dict)
    #: the variables the sequential scenario's child runs extracted so far (secrets never: masked ones are left out)
    extracted: dict[str, VarValue] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    retries: int | None = None
    timeout_s: int | None = None
    trigger: Trigger = "api"
    #: its child runs' priority
    priority: Priority = DEFAULT_PRIORITY
    schedule_id: str | None = None
    scheduled_for: datetime | None = None
    cancel_requested: bool = False
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: int | None = None
    error: str | None = None
    #: whether ``Suite Run Completed`` went out (it is published once, by the writer that ended the suite run)
    completion_published: bool = False
    version: int = 1
    correlation_id: str | None = None


class SuiteRunPublic(Model):
    """A suite run: its child runs and their aggregated status."""

    id: str
    """The suite run's id (`srn_...`)."""
    suite_id: str
    """The suite it runs."""
    suite_name: str
    """The suite's name when it started."""
    mode: SuiteMode
    """`parallel` or `sequential`."""
    status: SuiteRunStatus
    """Where it is; `passed`, `failed`, `error` and `cancelled` are final."""
    counts: SuiteRunCounts
    """Child runs per state."""
    children: list[SuiteChild]
    """One entry per test, in order."""
    variables: dict[str, VarValue]
    """The variables it started with (the suite's, then the run's over them)."""
    extracted: dict[str, VarValue]
    """What the child runs of a `sequential` suite extracted, handed on to the tests after them."""
    labels: dict[str, str]
    """Its labels (the suite's, then the run's over them)."""
    trigger: Trigger
    """Who started it: `api`, `cli`, `schedule` or `github` (a push or pull request: its labels say which)."""
    priority: Priority = DEFAULT_PRIORITY
    """`high`, `normal` or `low`: the priority of its child runs."""
    schedule_id: str | None
    """The schedule that started it, or null."""
    scheduled_for: datetime | None = None
    """For a suite run a schedule started: the due time it was started for (UTC); else null."""
    cancel_requested: bool
    """Whether it was cancelled (its children are cancelled with it)."""
    created_at: datetime
    """When it started (UTC)."""
    ended_at: datetime | None
    """When its last child ended (UTC), or null."""
    duration_ms: int | None
    """From start to its last child's end, in milliseconds, or null."""
    error: str | None
    """Why it did not pass, in short (the first failing test and its error), or null."""

    @classmethod
    def of(cls, run: SuiteRun) -> SuiteRunPublic:
        return cls.model_validate(run.model_dump())
