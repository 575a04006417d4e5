"""``build_services`` hands the deployment's planner to the catalog: with the rule planner (the default) a goal
the grammar cannot read is refused when it is saved; with Bedrock it is stored for the model to plan."""

from __future__ import annotations

import pytest

from shared.aws.factory import build_services
from shared.errors import InvalidInput
from shared.models.tests import TestCreate
from shared.settings import Settings

GOAL = TestCreate.model_validate({"name": "Plain login", "goal": "Log in as the admin and look around"})


def test_the_rule_planner_deployment_refuses_a_goal_it_cannot_read(aws_settings: Settings) -> None:
    catalog = build_services(aws_settings).catalog
    with pytest.raises(InvalidInput, match='line 1: "Log in as the admin and look around"'):
        catalog.create_test("prj_a", GOAL)


def test_a_bedrock_deployment_stores_the_goal_for_the_model(aws_settings: Settings) -> None:
    catalog = build_services(aws_settings.model_copy(update={"planner": "bedrock"})).catalog
    _, revision = catalog.create_test("prj_a", GOAL)
    assert revision.goal == GOAL.goal
