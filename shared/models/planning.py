"""What planners, healers and the element cache exchange (``shared/ports.py``: Planner, Healer, ElementCache,
PlanStore), and the plan proposal the API shows."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from shared.models.common import Model
from shared.models.plans import Step
from shared.models.tests import TestKind, TestSpec

PlannerName = Literal["rules", "bedrock"]
HealerName = Literal["fuzzy", "bedrock"]


# ------------------------------------------------------------------------------------ planning


class PlanRequest(Model):
    """What a planner is asked: turn ``goal`` into steps."""

    goal: str
    kind: TestKind = TestKind.browser
    start_url: str | None = None
    #: names of the variables the run will have (a planner may use ``{{name}}`` for them)
    variables: list[str] = Field(default_factory=list)


class PlanUsage(Model):
    """What a model call cost: tokens, time and an estimate in US dollars (zero for the sentence grammar)."""

    input_tokens: int = 0
    """Tokens sent to the model."""
    output_tokens: int = 0
    """Tokens the model answered with."""
    latency_ms: int = 0
    """How long planning took, in milliseconds."""
    cost_usd: float = 0.0
    """Estimated cost, from the deployment's per-token prices."""
    model_calls: int = 0
    """Calls to the model (a repair round is a second call); 0 for the sentence grammar."""


class PlanOutcome(Model):
    """A plan a planner produced."""

    steps: list[Step]
    planner: PlannerName
    model_id: str | None = None
    usage: PlanUsage = Field(default_factory=PlanUsage)
    #: the planner's remarks (a repaired answer, a line read loosely)
    notes: list[str] = Field(default_factory=list)


class PlanFailed(Exception):
    """A planner could not produce a valid plan; ``message`` says why and where (line numbers for the grammar)."""

    def __init__(self, message: str, *, usage: PlanUsage | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage or PlanUsage()
        self.details = details or {}


#: part of every plan-cache key: bumped when the sentence grammar reads a goal differently, so that no plan the
#: previous grammar made outlives the change
PLAN_CACHE_VERSION = 2


def spec_hash(spec: TestSpec, *, planner: str = "rules") -> str:
    """The content hash a plan is cached under: what a planner reads of a spec (goal, start URL, variable
    names), which planner made it, and :data:`PLAN_CACHE_VERSION`. Two revisions with the same goal share one
    cached plan; switching planners (or a grammar that reads differently) plans again."""
    content = {
        "goal": spec.goal or "",
        "start_url": spec.start_url,
        "variables": sorted(spec.variables or {}),
        "planner": planner,
        "version": PLAN_CACHE_VERSION,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class ProposalStatus(StrEnum):
    """Where a plan proposal is: `pending` (the planner has not answered yet), `ready` (its steps can be
    accepted), `failed` (no plan: `error` says why), `accepted` (a revision holds its steps)."""

    pending = "pending"
    ready = "ready"
    failed = "failed"
    accepted = "accepted"


class PlanProposal(Model):
    """A plan proposed for a revision's goal: `pending` until the planner worker fills it, then `ready` (its
    `steps` can be accepted into a new revision) or `failed` (with the `error`), then `accepted`."""

    id: str
    """`pln_...`"""
    project_id: str
    test_id: str
    """The test whose revision's goal is planned."""
    revision: int
    """The revision whose goal is planned."""
    status: ProposalStatus = ProposalStatus.pending
    """`pending`, `ready`, `failed` or `accepted`."""
    planner: PlannerName
    """Which planner makes it: `rules` (the sentence grammar) or `bedrock`."""
    model_id: str | None = None
    """The Bedrock model id (null for the sentence grammar)."""
    steps: list[Step] | None = None
    """The proposed plan (when `ready` or `accepted`)."""
    error: str | None = None
    """Why planning failed (when `failed`)."""
    usage: PlanUsage = Field(default_factory=PlanUsage)
    """Tokens, latency and estimated cost."""
    notes: list[str] = Field(default_factory=list)
    """The planner's remarks."""
    accepted_revision: int | None = None
    """The revision created from this proposal (when `accepted`)."""
    created_at: datetime
    updated_at: datetime


# ------------------------------------------------------------------------------------- healing


class ElementInfo(Model):
    """One element of the page, as a healer sees it."""

    index: int
    role: str
    name: str = ""
    tag: str = ""
    text: str = ""
    #: id, class, name, type, placeholder, aria-label, data-testid, href (when present)
    attributes: dict[str, str] = Field(default_factory=dict)
    visible: bool = True
    enabled: bool = True


class HealRequest(Model):
    """A target that did not resolve, and the page's candidates."""

    action: str
    target: str  # the target in short form
    wanted: str  # the name (or description) the step asked for
    roles: list[str]  # roles compatible with the action
    reason: str  # matched nothing / matched N
    url: str
    elements: list[ElementInfo]
    #: the text of the target's scope (its ``within`` name, its ``near`` text): words a candidate may add
    context: str = ""


class HealProposal(Model):
    """A healer's proposal: an element of the request, how close it is, why."""

    index: int
    score: float
    reason: str = ""


class HealerFailed(Exception):
    """A healer could not answer (its model refused, timed out or answered nonsense); ``message`` says why. The
    runner treats it as no proposal: the step fails with the reason."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


# --------------------------------------------------------------------------------- element cache


class Fingerprint(Model):
    """What identifies an element across runs: checked before a cached locator is trusted."""

    role: str = ""
    name: str = ""
    tag: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    #: tag names of the ancestors, nearest first (up to 4)
    parents: list[str] = Field(default_factory=list)

    def matches(self, other: Fingerprint) -> bool:
        """The same element: the same role, tag and name (case and spaces aside)."""
        return (
            self.role == other.role
            and self.tag == other.tag
            and " ".join(self.name.lower().split()) == " ".join(other.name.lower().split())
        )


class CachedElement(Model):
    """A resolved (or healed) target remembered for one step of one test on one page."""

    project_id: str
    test_id: str
    step_key: str  # hash of the step's content
    page_key: str  # the page's URL without query and fragment
    target: dict[str, Any]  # the structured target that found it
    locator: str
    fingerprint: Fingerprint
    source: Literal["resolved", "healed"] = "resolved"
    updated_at: datetime
    expires_at: int  # unix time (DynamoDB TTL)


def step_key(step: Step) -> str:
    """The element cache's key of a step: a hash of its content (a changed step is a new key)."""
    content = step.model_dump(mode="json", exclude_none=True)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def page_key(url: str) -> str:
    """A page's URL without its query and fragment."""
    return url.split("#", 1)[0].split("?", 1)[0]
