"""A goal saved without steps is read by the sentence grammar when the deployment plans with it: a line it cannot
read is a 422 naming every such line, on create and on revise; a goal beside steps, or under the Bedrock planner,
is stored as it is."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared.errors import InvalidInput
from shared.models.tests import RevisionCreate, TestCreate
from shared.services.catalog import Catalog
from tests.conftest import BOOTSTRAP_KEY, FakeServices
from tests.fakes import FakeStore

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
GOAL = 'Go to {{base_url}}/login\nFill "Username" with "admin"\nClick "Log in"\nExpect to see "Welcome, admin"'
BAD_GOAL = 'Go to {{base_url}}/login\nClik "Log in"\nFill "Username" with admin'
PROJECT = "prj_test"


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


def _test(**spec: Any) -> dict[str, Any]:
    return {"name": "Plain login", "variables": {"base_url": "http://127.0.0.1:5000"}, **spec}


def test_a_goal_the_grammar_reads_is_saved(client: TestClient) -> None:
    created = client.post("/v1/tests", json=_test(goal=GOAL), headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["goal"] == GOAL


def test_a_goal_with_lines_the_grammar_cannot_read_is_a_422_naming_each_line(client: TestClient) -> None:
    response = client.post("/v1/tests", json=_test(goal=BAD_GOAL), headers=ADMIN)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["field"] == "goal"
    assert [line["line"] for line in error["details"]["lines"]] == [2, 3]
    assert 'line 2: "Clik "Log in"": not a step I know; closest forms: Click "X"' in error["message"]
    assert 'line 3: "Fill "Username" with admin": the value must be in quotes' in error["message"]
    assert client.get("/v1/tests", headers=ADMIN).json()["items"] == []  # nothing saved


def test_a_revision_with_a_bad_goal_is_refused_and_the_test_keeps_its_revision(client: TestClient) -> None:
    test = client.post("/v1/tests", json=_test(goal=GOAL), headers=ADMIN).json()

    refused = client.post(f"/v1/tests/{test['id']}/revisions", json={"goal": "Frobnicate it"}, headers=ADMIN)
    accepted = client.post(f"/v1/tests/{test['id']}/revisions", json={"goal": 'Click "Save"'}, headers=ADMIN)

    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "goal"
    assert 'line 1: "Frobnicate it": not a step I know' in refused.json()["error"]["message"]
    assert accepted.status_code == 201 and accepted.json()["revision"] == 2


def test_a_revision_of_a_foreign_test_is_a_404_before_its_goal_is_read(client: TestClient) -> None:
    assert client.post("/v1/tests/tst_nope/revisions", json={"goal": "x"}, headers=ADMIN).status_code == 404


def test_a_goal_beside_steps_is_not_parsed(client: TestClient) -> None:
    steps = [{"action": "goto", "url": "{{base_url}}/"}]
    created = client.post("/v1/tests", json=_test(goal="Anything at all, in prose.", steps=steps), headers=ADMIN)
    assert created.status_code == 201, created.text


def test_under_the_bedrock_planner_a_goal_is_not_parsed_when_saved() -> None:
    catalog = Catalog(FakeStore(), planner="bedrock")
    test, revision = catalog.create_test(PROJECT, TestCreate.model_validate(_test(goal="Log in as the admin")))
    assert revision.goal == "Log in as the admin"
    catalog.new_revision(PROJECT, test.id, RevisionCreate.model_validate({"goal": "Then log out"}))


def test_the_rule_planner_is_the_default() -> None:
    with pytest.raises(InvalidInput, match="Log in as the admin"):
        Catalog(FakeStore()).create_test(PROJECT, TestCreate.model_validate(_test(goal="Log in as the admin")))
