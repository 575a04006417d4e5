"""Events published on the EventBridge bus (source ``autotest``). Consumers are idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.models.common import Model
from shared.models.runs import RunStatus, RunSummary


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
