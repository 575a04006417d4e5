"""Events published on the EventBridge bus (source ``autotest``). Consumers are idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.models.common import Model
from shared.models.runs import Run, RunStatus, RunSummary


class Event(Model):
    detail_type: ClassVar[str]


class RunStatusChanged(Event):
    detail_type: ClassVar[str] = "Run Status Changed"

    project_id: str
    run_id: str
    test_id: str | None
    suite_run_id: str | None
    status: RunStatus
    previous_status: RunStatus | None
    attempt: int
    summary: RunSummary
    at: datetime
    correlation_id: str | None = None

    @classmethod
    def of(cls, run: Run, *, previous: RunStatus | None) -> RunStatusChanged:
        """The event that describes ``run`` as it is now, having come from ``previous``."""
        return cls(
            project_id=run.project_id,
            run_id=run.id,
            test_id=run.test_id,
            suite_run_id=run.suite_run_id,
            status=run.status,
            previous_status=previous,
            attempt=run.attempt,
            summary=RunSummary.of(run),
            at=run.updated_at,
            correlation_id=run.correlation_id,
        )
