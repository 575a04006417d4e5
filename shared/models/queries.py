"""List queries (filters, sort, page) as the services and stores see them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.models.common import Model
from shared.models.runs import RunStatus, Trigger
from shared.models.tests import TestKind, TestStatus

TestSort = Literal["name", "-name", "updated", "-updated"]
RunSort = Literal["created", "-created"]


class TestQuery(Model):
    __test__ = False

    project_id: str
    kind: TestKind | None = None
    tag: str | None = None
    status: TestStatus | None = TestStatus.active
    q: str | None = None
    sort: TestSort = "-updated"
    limit: int = 50
    cursor: str | None = None


class RunQuery(Model):
    project_id: str
    test_id: str | None = None
    suite_run_id: str | None = None
    status: RunStatus | None = None
    #: only runs started this way (``api``, ``cli``, ``suite``, ``schedule``)
    trigger: Trigger | None = None
    since: datetime | None = None
    #: only runs carrying every one of these labels, with these values
    labels: dict[str, str] = Field(default_factory=dict)
    sort: RunSort = "-created"
    limit: int = 50
    cursor: str | None = None
