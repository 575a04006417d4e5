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
    __test__ = False
    browser = "browser"
    api = "api"


class TestStatus(StrEnum):
    __test__ = False
    active = "active"
    archived = "archived"


Dataset = Annotated[list[Variables], Field(max_length=1000)]
TimeoutS = Annotated[int, Field(ge=1, le=3600)]
Retries = Annotated[int, Field(ge=0, le=5)]


class TestSpec(StorableInput):
    """What a revision holds: plain-English goal and/or step plan, plus run parameters."""

    __test__ = False  # not a pytest class

    goal: FreeText | None = None
    steps: Plan | None = None
    start_url: ShortText | None = None
    variables: Variables = Field(default_factory=dict)
    dataset: Dataset | None = None
    timeout_s: TimeoutS | None = None
    retries: Retries = 0

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


class TestCreate(TestSpec):
    """``POST /v1/tests`` and the CLI's test file."""

    name: Name
    kind: TestKind | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    description: FreeText | None = None

    def resolved_kind(self) -> TestKind:
        return self.kind or infer_kind(self)


class RevisionCreate(TestSpec):
    """``POST /v1/tests/{id}/revisions``: a new immutable revision."""


class TestUpdate(StorableInput):
    """``PATCH /v1/tests/{id}``: test-level fields only; the spec changes through revisions."""

    __test__ = False

    name: Name | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    description: FreeText | None = None
    status: TestStatus | None = None

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


class TestPublic(Model):
    __test__ = False

    id: str
    name: str
    kind: TestKind
    tags: list[str]
    description: str | None = None
    status: TestStatus
    revision: int
    created_at: datetime
    updated_at: datetime
    spec: TestSpec | None = None

    @classmethod
    def of(cls, test: TestCase, revision: Revision | None = None) -> TestPublic:
        data: dict[str, Any] = test.model_dump(exclude={"project_id", "latest_revision"})
        return cls(**data, revision=test.latest_revision, spec=revision.spec() if revision else None)


class RevisionPublic(TestSpec):
    model_config = {"extra": "ignore"}

    test_id: str
    revision: int
    created_at: datetime

    @classmethod
    def of(cls, revision: Revision) -> RevisionPublic:
        return cls.model_validate(revision.model_dump(exclude={"project_id"}), context=STORED)
