"""Queue messages."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shared.models.common import Model
from shared.models.priority import DEFAULT_PRIORITY, Priority


class BatchMember(Model):
    """One run of a batch message: the run and the attempt to execute."""

    run_id: str
    attempt: int


class RunMessage(Model):
    """Asks a runner to execute one attempt of one run or, with ``batch``, of several runs in turn on one browser
    (child runs of one suite run that share their labels and browser settings: ``shared/services/suites.py``).

    ``run_id`` and ``attempt`` name the first run of a batch too, so a message always names a run; ``batch`` lists
    every member, that first one included. A message without ``batch`` is one run, as messages always were."""

    run_id: str
    project_id: str
    attempt: int
    correlation_id: str | None = None
    batch: list[BatchMember] = Field(default_factory=list)
    #: which runner takes it (``shared/services/routing.py``): ``long`` goes to the Fargate workers' queue where
    #: the deployment has one
    lane: Literal["short", "long"] = "short"
    #: which of the lane's queues it goes to (``shared/aws/sqs.py``); a message sent before priorities is ``normal``
    priority: Priority = DEFAULT_PRIORITY

    @model_validator(mode="after")
    def _first_member_named(self) -> RunMessage:
        if self.batch:
            first = self.batch[0]
            if (first.run_id, first.attempt) != (self.run_id, self.attempt):
                raise ValueError("a batch message names its first member as run_id and attempt")
            if len({m.run_id for m in self.batch}) != len(self.batch):
                raise ValueError("a batch message names each run once")
        return self

    def members(self) -> list[RunMessage]:
        """One message per run it names, in order: itself when it names one."""
        if not self.batch:
            return [self]
        return [
            RunMessage(
                run_id=m.run_id,
                project_id=self.project_id,
                attempt=m.attempt,
                correlation_id=self.correlation_id,
                priority=self.priority,
            )
            for m in self.batch
        ]


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
