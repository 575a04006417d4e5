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
from shared.models.tests import Dataset, Retries, TestKind, TestSpec, TimeoutS


class RunStatus(StrEnum):
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


LabelKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/-]{1,64}$"), NoControls]
LabelValue = Annotated[str, Field(max_length=256), NoControls]
Trigger = Literal["api", "cli", "suite", "schedule"]
StepStatus = Literal["passed", "failed", "error", "skipped"]
#: the rule that chose a step's element: its name contains the target's (``substring``), equals it
#: (``exact``), equals it but for case and whitespace (``normalized``); ``unique``: a target with no name
#: (a role alone, css) that one element matches. A test id matches ``exact``.
MatchedBy = Literal["substring", "exact", "normalized", "unique"]


class InlineSpec(TestSpec):
    """A spec run without saving a test (``POST /v1/runs {"spec": ...}``): the test file's shape."""

    name: Name | None = None
    kind: TestKind | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    description: FreeText | None = None


class RunCreate(StorableInput):
    """``POST /v1/runs``: a run of a saved test (``test_id``, optional ``revision``) or of an inline ``spec``."""

    test_id: ObjectId | None = None
    revision: Annotated[int, Field(ge=1)] | None = None
    spec: InlineSpec | None = None
    variables: Variables = Field(default_factory=dict)
    dataset: Dataset | None = None
    retries: Retries | None = None
    timeout_s: TimeoutS | None = None
    labels: Annotated[dict[LabelKey, LabelValue], Field(max_length=20)] = Field(default_factory=dict)
    trigger: Literal["api", "cli"] = "api"

    @model_validator(mode="after")
    def _test_or_spec(self) -> RunCreate:
        if (self.test_id is None) == (self.spec is None):
            raise ValueError("give exactly one of 'test_id' (a saved test) or 'spec' (an inline test)")
        if self.revision is not None and self.test_id is None:
            raise ValueError("'revision' needs 'test_id'")
        return self


class StepResult(Model):
    index: int
    action: str
    description: str | None = None
    target: str | None = None
    #: what the step did besides its target: the URL of a goto, the text expected, ...
    detail: str | None = None
    locator: str | None = None
    #: which rule chose the target's element (an ambiguous substring match falls back to the exact name)
    matched_by: MatchedBy | None = None
    status: StepStatus
    duration_ms: int = 0
    error: str | None = None
    screenshot: str | None = None
    healed: bool = False

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
    reason: str
    at: datetime


class Iteration(Model):
    """One dataset row of a data-driven run."""

    index: int
    variables: dict[str, Any] = Field(default_factory=dict)
    status: RunStatus
    steps: list[StepResult] = Field(default_factory=list)


class RunStats(Model):
    cache_hits: int = 0
    heals: int = 0
    planner_calls: int = 0


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
    suite_run_id: str | None = None
    schedule_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    spec: TestSpec
    variables: dict[str, VarValue] = Field(default_factory=dict)
    dataset: list[dict[str, VarValue]] | None = None
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
    stats: RunStats = Field(default_factory=RunStats)
    artifacts: list[ArtifactRef] = Field(default_factory=list)
    artifact_errors: list[str] = Field(default_factory=list)
    browser_version: str | None = None
    cancel_requested: bool = False
    correlation_id: str | None = None


class RunPublic(Model):
    id: str
    test_id: str | None
    revision: int | None
    name: str | None
    kind: TestKind
    status: RunStatus
    attempt: int
    max_attempts: int
    trigger: Trigger
    suite_run_id: str | None
    schedule_id: str | None
    labels: dict[str, str]
    tags: list[str] = Field(default_factory=list)
    variables: dict[str, VarValue]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    steps: list[StepResult]
    iterations: list[Iteration]
    error: str | None
    flaky: bool
    interruptions: list[Interruption] = Field(default_factory=list)
    stats: RunStats
    cancel_requested: bool
    browser_version: str | None
    artifact_errors: list[str]

    @classmethod
    def of(cls, run: Run) -> RunPublic:
        return cls.model_validate(run.model_dump())


class RunSummary(Model):
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
    name: str
    kind: str
    size: int
    content_type: str
    url: str


class ArtifactList(Model):
    artifacts: list[Artifact]
