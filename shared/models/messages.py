"""Queue messages."""

from __future__ import annotations

from pydantic import model_validator

from shared.models.common import Model


class RunMessage(Model):
    """Asks a runner to execute one attempt of one run."""

    run_id: str
    project_id: str
    attempt: int
    correlation_id: str | None = None


class PlanMessage(Model):
    """Asks the planner worker to plan: a proposal to fill (``proposal_id``) or a goal-only run waiting for its
    steps (``run_id``), exactly one of them."""

    project_id: str
    proposal_id: str | None = None
    run_id: str | None = None
    correlation_id: str | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> PlanMessage:
        if (self.proposal_id is None) == (self.run_id is None):
            raise ValueError("a plan message names exactly one of proposal_id or run_id")
        return self


class ReceivedMessage(Model):
    body: str
    receipt: str
    message_id: str
    receive_count: int = 1
