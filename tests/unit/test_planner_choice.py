"""``shared/planning/choose.py``: the planner the settings name, imported and made on first use (stand-in modules
here: the sentence grammar and the Bedrock planner are other modules' work)."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from shared.models.planning import PlanOutcome, PlanRequest
from shared.planning.choose import ConfiguredPlanner, planner_for, plans_inline
from shared.settings import Settings


class Standin:
    made: list[Any] = []

    def __init__(self, name: str, settings: Settings | None = None) -> None:
        self.name = name
        self.settings = settings
        Standin.made.append(self)

    def plan(self, request: PlanRequest) -> PlanOutcome:
        return PlanOutcome(steps=[], planner=self.name)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def standins(monkeypatch: pytest.MonkeyPatch) -> None:
    Standin.made = []
    rules = types.ModuleType("shared.planning.rules")
    rules.RulePlanner = lambda: Standin("rules")  # type: ignore[attr-defined]
    bedrock = types.ModuleType("shared.aws.bedrock")
    bedrock.BedrockPlanner = type(  # type: ignore[attr-defined]
        "BedrockPlanner", (), {"from_settings": staticmethod(lambda settings: Standin("bedrock", settings))}
    )
    monkeypatch.setitem(sys.modules, "shared.planning.rules", rules)
    monkeypatch.setitem(sys.modules, "shared.aws.bedrock", bedrock)


def test_the_settings_name_the_planner_and_whether_it_plans_inline() -> None:
    rules, bedrock = Settings(planner="rules"), Settings(planner="bedrock")

    assert planner_for(rules).name == "rules" and plans_inline(rules)
    made = planner_for(bedrock)
    assert made.name == "bedrock" and not plans_inline(bedrock)
    assert Standin.made[-1].settings is bedrock


def test_the_configured_planner_is_made_on_first_use_only() -> None:
    configured = ConfiguredPlanner(Settings(planner="bedrock"))

    assert configured.name == "bedrock" and Standin.made == []  # building services makes no Bedrock client
    configured.plan(PlanRequest(goal="Go to http://x"))
    configured.plan(PlanRequest(goal="Go to http://y"))

    assert [p.name for p in Standin.made] == ["bedrock"]
