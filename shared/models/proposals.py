"""Request and response models of the plan proposal routes (``/v1/tests/{id}/plans``, ``/v1/plans/{id}``); the
stored proposal is :class:`shared.models.planning.PlanProposal`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from shared.models.common import STORED, Model, StorableInput
from shared.models.planning import PlannerName, PlanProposal, PlanUsage, ProposalStatus
from shared.models.plans import Step


class PlanProposalCreate(StorableInput):
    """A plan proposal to make (`POST /v1/tests/{id}/plans`; the body may be left out): the planner turns the
    goal of one revision of the test into steps, for you to review and accept."""

    revision: Annotated[int, Field(ge=1)] | None = None
    """The revision whose `goal` is planned (1 or more). Default: the test's latest."""


class PlanProposalPublic(Model):
    """A plan proposed for a revision's goal. `pending` until a planner fills it, then `ready` (its `steps` can be
    accepted into a new revision: `POST /v1/plans/{id}/accept`) or `failed` (`error` says why: for the sentence
    grammar, the lines it could not read), then `accepted`. With the sentence grammar (the default planner) the
    proposal is filled before the response, so it is already `ready` or `failed`; with Bedrock it is `pending` and
    the planner worker fills it (poll `GET /v1/plans/{id}`, or follow the `Plan Proposal Ready` event)."""

    id: str
    """The proposal's id (`pln_` and 26 characters)."""
    test_id: str
    """The test whose revision's goal is planned."""
    revision: int
    """The revision whose goal is planned."""
    status: ProposalStatus
    """`pending`, `ready`, `failed` or `accepted`."""
    planner: PlannerName
    """Which planner makes it: `rules` (the sentence grammar, no model) or `bedrock`."""
    model_id: str | None = None
    """The Bedrock model id, or null (the sentence grammar)."""
    steps: list[Step] | None = None
    """The proposed plan, when `ready` or `accepted`; else null."""
    error: str | None = None
    """Why planning failed (when `failed`), else null."""
    usage: PlanUsage
    """Tokens, latency and estimated cost of the planning."""
    notes: list[str]
    """The planner's remarks (a repaired answer, a line read loosely)."""
    accepted_revision: int | None = None
    """The revision created from it (when `accepted`), else null."""
    created_at: datetime
    """When it was asked for (UTC, ISO 8601)."""
    updated_at: datetime
    """When it last changed (UTC, ISO 8601)."""

    @classmethod
    def of(cls, proposal: PlanProposal) -> PlanProposalPublic:
        return cls.model_validate(proposal.model_dump(exclude={"project_id"}), context=STORED)
