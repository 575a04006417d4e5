"""Events published on the EventBridge bus (source ``autotest``). Consumers are idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.models.common import Model
from shared.models.planning import PlanProposal, ProposalStatus
from shared.models.runs import Run, RunStatus, RunSummary
from shared.models.suites import SuiteRun, SuiteRunCounts, SuiteRunStatus


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


class PlanProposalReady(Event):
    """A plan proposal was filled: ``ready`` (its steps can be accepted) or ``failed`` (``error`` says why).
    Published once per proposal, by the writer whose conditional write moved it out of ``pending``."""

    detail_type: ClassVar[str] = "Plan Proposal Ready"

    project_id: str
    proposal_id: str
    test_id: str
    revision: int
    status: ProposalStatus
    planner: str
    steps: int = 0
    error: str | None = None
    at: datetime
    correlation_id: str | None = None

    @classmethod
    def of(cls, proposal: PlanProposal, *, correlation_id: str | None = None) -> PlanProposalReady:
        return cls(
            project_id=proposal.project_id,
            proposal_id=proposal.id,
            test_id=proposal.test_id,
            revision=proposal.revision,
            status=proposal.status,
            planner=proposal.planner,
            steps=len(proposal.steps or []),
            error=proposal.error,
            at=proposal.updated_at,
            correlation_id=correlation_id,
        )


class SuiteRunCompleted(Event):
    """A suite run ended: every child run ended or was skipped. Published exactly once per suite run, by the
    writer whose conditional write ended it."""

    detail_type: ClassVar[str] = "Suite Run Completed"

    project_id: str
    suite_run_id: str
    suite_id: str
    suite_name: str
    status: SuiteRunStatus
    counts: SuiteRunCounts
    schedule_id: str | None = None
    labels: dict[str, str] = {}
    error: str | None = None
    duration_ms: int | None = None
    at: datetime
    correlation_id: str | None = None

    @classmethod
    def of(cls, run: SuiteRun) -> SuiteRunCompleted:
        return cls(
            project_id=run.project_id,
            suite_run_id=run.id,
            suite_id=run.suite_id,
            suite_name=run.suite_name,
            status=run.status,
            counts=run.counts,
            schedule_id=run.schedule_id,
            labels=run.labels,
            error=run.error,
            duration_ms=run.duration_ms,
            at=run.ended_at or run.updated_at,
            correlation_id=run.correlation_id,
        )
