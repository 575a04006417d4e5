"""Which planner a deployment uses (``settings.planner``): the sentence grammar (``rules``, the default: fast, no
model, so goal-only runs and proposals are planned inline) or Bedrock (slow: planned by the planner worker).

The planners are imported when chosen, so a process that never plans loads neither (nor boto3's Bedrock client).
"""

from __future__ import annotations

from shared.models.planning import PlanOutcome, PlanRequest
from shared.ports import Healer, Planner
from shared.settings import Settings


def plans_inline(settings: Settings) -> bool:
    """Whether the configured planner is fast enough to plan inside an API request (the sentence grammar)."""
    return settings.planner == "rules"


def planner_for(settings: Settings) -> Planner:
    """The configured planner (Bedrock's client is made from the settings' Bedrock region: see
    ``shared/aws/bedrock.py``)."""
    if settings.planner == "rules":
        from shared.planning.rules import RulePlanner

        planner: Planner = RulePlanner()
        return planner
    from shared.aws.bedrock import BedrockPlanner

    bedrock: Planner = BedrockPlanner.from_settings(settings)
    return bedrock


class ConfiguredPlanner:
    """The configured planner, made on first use (the API's cold start makes no Bedrock client, and a process
    that never plans never imports a planner)."""

    def __init__(self, settings: Settings) -> None:
        self.name: str = settings.planner
        self._settings = settings
        self._planner: Planner | None = None

    def plan(self, request: PlanRequest) -> PlanOutcome:
        if self._planner is None:
            self._planner = planner_for(self._settings)
        return self._planner.plan(request)


def healer_for(settings: Settings) -> Healer | None:
    """The healer a runner is given: Bedrock's when the ``healer`` setting is ``bedrock``; None otherwise (the
    runner heals by fuzzy matching, or not at all with ``healer=off``)."""
    if settings.healer != "bedrock":
        return None
    from shared.aws.bedrock import BedrockHealer

    healer: Healer = BedrockHealer.from_settings(settings)
    return healer
