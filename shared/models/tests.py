"""Test cases and their immutable revisions.

One shape everywhere: the body that creates a test (``TestCreate``) is also the test file the CLI
reads and, minus the test-level fields, the spec of a revision (``TestSpec``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, model_validator

from shared.models.common import (
    STORED,
    FreeText,
    Model,
    Name,
    ShortText,
    StorableInput,
    Tag,
    Variables,
)
from shared.models.plans import BROWSER_ACTIONS, Plan


class TestKind(StrEnum):
    """What a test drives: `browser` (a step plan run in Chromium; it may hold `request` steps too) or `api`
    (only `request` steps; no browser is started)."""

    __test__ = False
    browser = "browser"
    api = "api"

    @property
    def a_test(self) -> str:
        """``a browser test`` / ``an API test``, for messages."""
        return "an API test" if self == TestKind.api else "a browser test"


class TestStatus(StrEnum):
    """`active`, or `archived` (`DELETE /v1/tests/{id}`; nothing is deleted): an archived test is neither run
    nor revised until it is active again (`PATCH` with `status: active`)."""

    __test__ = False
    active = "active"
    archived = "archived"


Dataset = Annotated[list[Variables], Field(max_length=1000)]
TimeoutS = Annotated[int, Field(ge=1, le=3600)]
Retries = Annotated[int, Field(ge=0, le=5)]
#: how many dataset rows a run executes at once
Concurrency = Annotated[int, Field(ge=1, le=64)]
#: requests per second, across the whole run
RateLimit = Annotated[float, Field(ge=0.001, le=10_000, allow_inf_nan=False)]


class TestSpec(StorableInput):
    """What a revision holds: a step plan and/or a plain-English goal, plus the run's parameters (start URL,
    variables, dataset, timeout, retries)."""

    __test__ = False  # not a pytest class

    goal: FreeText | None = None
    """The test in plain English, one sentence per line, for a planner (up to 20,000 characters). A run of a
    revision with a goal and no `steps` plans it first (the plan is cached per goal, so a rerun plans nothing);
    `POST /v1/tests/{id}/plans` shows the plan, and accepting it saves it as the next revision's `steps`."""
    steps: Plan | None = None
    """The step plan, run in order until a step fails (up to 500 steps). Each step is an object whose `action`
    says what it does (`goto`, `click`, `fill`, ..., `request`). A test needs `steps` or a `goal`, or both."""
    start_url: ShortText | None = None
    """Opened before the first step, unless that is a `goto`; it must load, as a `goto` must. May hold
    `{{var}}` placeholders."""
    variables: Variables = Field(default_factory=dict)
    """Values for `{{name}}` placeholders in the steps (up to 200): a name is a letter or `_`, then letters,
    digits, `_`, `.` or `-` (at most 64); a value a string, a number or a boolean. A run's own `variables`
    override these."""
    dataset: Dataset | None = None
    """Rows of variables for a data-driven test (up to 1,000): the steps run once per row, the row's values
    over `variables`, and the run reports one entry per row in `iterations`."""
    timeout_s: TimeoutS | None = None
    """Seconds the whole run may take (1 to 3600, and at most the deployment's `AUTOTEST_MAX_RUN_TIMEOUT_S`).
    Default: the deployment's `AUTOTEST_DEFAULT_RUN_TIMEOUT_S` (300)."""
    retries: Retries = 0
    """How many times a failed run is tried again (0 to 5), each as a new attempt."""
    concurrency: Concurrency | None = None
    """How many dataset rows run at once (1 to 64). Default: 8 for an API test, 1 for a browser test (each row of
    a browser test has a browser context of its own). Rows are reported in dataset order whatever order they end
    in."""
    rate_limit: RateLimit | None = None
    """The most HTTP requests per second the run's `request` steps send, all rows together (0.001, one request
    in 1,000 s, up to 10,000; redirects and a step's `retry` count too), so a data-driven run never floods the
    system under test.
    Default: no limit."""

    @model_validator(mode="after")
    def _goal_or_steps(self) -> TestSpec:
        if not self.steps and not (self.goal and self.goal.strip()):
            raise ValueError("a test needs 'steps' (a step plan) or a 'goal' (plain English), or both")
        return self

    def spec(self) -> TestSpec:
        """Just the revision fields (drops test-level fields of subclasses)."""
        return TestSpec.model_validate(self.model_dump(include=set(TestSpec.model_fields)), context=STORED)


def infer_kind(spec: TestSpec) -> TestKind:
    """A test whose steps are all ``request`` steps is an API test; anything else is a browser test."""
    if spec.steps and all(step.action not in BROWSER_ACTIONS for step in spec.steps):
        return TestKind.api
    return TestKind.browser


def kind_mismatch(kind: TestKind, spec: TestSpec) -> str | None:
    """Why ``spec``'s steps do not make a test of ``kind`` (None when they do, or when there are no steps yet):
    an API test runs without a browser, so it has no browser step; a browser test has at least one."""
    if not spec.steps or infer_kind(spec) == kind:
        return None
    if kind == TestKind.api:
        first = next(i for i, step in enumerate(spec.steps) if step.action in BROWSER_ACTIONS)
        return (
            f"an API test runs without a browser, and step {first + 1} ({spec.steps[first].action}) is a browser "
            "step: make it a browser test (kind: browser, or leave kind out)"
        )
    return "every step is a request step, which makes an API test: make it one (kind: api, or leave kind out)"


class TestCreate(TestSpec):
    """A new test (`POST /v1/tests`), saved with its revision 1: the test-level fields (`name`, `kind`, `tags`,
    `description`) and the revision's spec, all at the top level. The same shape is the CLI's test file (YAML
    or JSON). Unknown fields are refused."""

    name: Name
    """The test's name (1 to 200 characters, trimmed; no control or bidirectional-formatting characters)."""
    kind: TestKind | None = None
    """`browser` or `api`. Default: inferred, `api` when every step is a `request` step, else `browser`."""
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    """Labels to find tests by (`GET /v1/tests?tag=smoke`): up to 20, each 1 to 64 letters, digits or
    `_ . : / -`."""
    description: FreeText | None = None
    """Free text about the test (up to 20,000 characters; tabs and line breaks allowed)."""

    @model_validator(mode="after")
    def _kind_fits(self) -> TestCreate:
        problem = kind_mismatch(self.kind, self) if self.kind is not None else None
        if problem:
            raise ValueError(f"kind: {problem}")
        return self

    def resolved_kind(self) -> TestKind:
        return self.kind or infer_kind(self)


class RevisionCreate(TestSpec):
    """A new immutable revision of a test (`POST /v1/tests/{id}/revisions`): a whole spec, which replaces the
    latest one for the runs to come (earlier revisions stay as they were). Name, tags and description change
    with `PATCH /v1/tests/{id}`."""


class TestUpdate(StorableInput):
    """Changes to a test (`PATCH /v1/tests/{id}`): test-level fields only, at least one; the fields left out stay
    as they are. The spec changes through a new revision."""

    __test__ = False

    name: Name | None = None
    """A new name (1 to 200 characters, trimmed; no control characters). Cannot be null."""
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    """The new tags, replacing the old ones (up to 20; `[]` removes them all). Cannot be null."""
    description: FreeText | None = None
    """A new description (up to 20,000 characters); `null` clears it."""
    status: TestStatus | None = None
    """`archived` archives the test (as `DELETE` does), `active` unarchives it. Cannot be null."""

    @model_validator(mode="after")
    def _something(self) -> TestUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to update: give name, tags, description or status")
        nulls = [f for f in ("name", "tags", "status") if f in self.model_fields_set and getattr(self, f) is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null (only description can be cleared with null)")
        return self


class TestCase(Model):
    """The stored test."""

    __test__ = False

    id: str
    project_id: str
    name: str
    kind: TestKind
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    status: TestStatus = TestStatus.active
    latest_revision: int
    created_at: datetime
    updated_at: datetime


class Revision(TestSpec):
    """A stored, immutable revision (spec fields at the top level)."""

    model_config = {"extra": "ignore"}

    test_id: str
    project_id: str
    revision: Annotated[int, Field(ge=1)]
    created_at: datetime
    note: str | None = None


class TestPublic(Model):
    """A saved test: its test-level fields, its latest revision number and, where the route says so, that
    revision's spec."""

    __test__ = False

    id: str
    """The test's id (`tst_` and 26 characters, sortable by creation time)."""
    name: str
    """The test's name."""
    kind: TestKind
    """`browser` or `api` (given, or inferred from the steps when the test was created)."""
    tags: list[str]
    """The test's tags."""
    description: str | None = None
    """Free text about the test, or null."""
    status: TestStatus
    """`active` or `archived`."""
    revision: int
    """The number of the test's latest revision (1 for a new test); runs use it unless they name another."""
    created_at: datetime
    """When the test was created (UTC, ISO 8601)."""
    updated_at: datetime
    """When the test or its revisions last changed (UTC, ISO 8601)."""
    spec: TestSpec | None = None
    """The latest revision's spec (`POST /v1/tests`, `GET /v1/tests/{id}`); null in lists and after a
    `PATCH` or `DELETE`."""
    warnings: list[str] = Field(default_factory=list)
    """What the saved spec may be missing (`POST /v1/tests` only): each variable a step uses that neither the
    test's `variables` nor every dataset row nor an earlier step's `extract` defines. The test is saved: a run
    may give the variable (`variables`, `--var`, `--data`); a run that does not fails at that step."""

    @classmethod
    def of(cls, test: TestCase, revision: Revision | None = None) -> TestPublic:
        data: dict[str, Any] = test.model_dump(exclude={"project_id", "latest_revision"})
        return cls(**data, revision=test.latest_revision, spec=revision.spec() if revision else None)


class RevisionPublic(TestSpec):
    """One immutable revision of a test: its spec, at the top level, with its number."""

    model_config = {"extra": "ignore"}

    test_id: str
    """The id of the test it belongs to."""
    revision: int
    """Its number: 1 for the test's first, then one more for each new revision."""
    created_at: datetime
    """When it was created (UTC, ISO 8601)."""
    note: str | None = None
    """How it was made when no person wrote it: `plan proposal pln_... accepted`, `healed targets of run run_...
    accepted (steps 2, 4)`; null for a revision written by a person."""
    warnings: list[str] = Field(default_factory=list)
    """What the new revision may be missing (`POST /v1/tests/{id}/revisions` only): each variable a step uses that
    nothing in the spec defines (see the test's `warnings`)."""

    @classmethod
    def of(cls, revision: Revision) -> RevisionPublic:
        return cls.model_validate(revision.model_dump(exclude={"project_id"}), context=STORED)
