"""The plan proposal and heal routes over in-memory services (a fake planner that plans inline, as the sentence
grammar does): status codes, bodies, conflicts, and project isolation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared.models.runs import Heal, StepResult
from tests.conftest import BOOTSTRAP_KEY, FakeServices
from tests.fakes import FakePlanner

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
GOAL = 'Go to {{base_url}}/login\nFill "Username" with "admin"\nClick "Log in"\nExpect to see "Welcome, admin"'
GOAL_TEST: dict[str, Any] = {
    "name": "Admin can log in",
    "variables": {"base_url": "http://127.0.0.1:8001"},
    "goal": GOAL,
}


@pytest.fixture
def client(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services, max_body_bytes=64 * 1024))


def a_goal_test(client: TestClient, body: dict[str, Any] | None = None) -> str:
    created = client.post("/v1/tests", json=body or GOAL_TEST, headers=ADMIN)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_request_get_and_accept_a_plan(client: TestClient) -> None:
    test_id = a_goal_test(client)

    asked = client.post(f"/v1/tests/{test_id}/plans", headers=ADMIN)  # no body: the latest revision

    assert asked.status_code == 202, asked.text
    proposal = asked.json()
    assert asked.headers["location"] == f"/v1/plans/{proposal['id']}"
    assert proposal["id"].startswith("pln_") and "project_id" not in proposal
    assert (proposal["status"], proposal["revision"], proposal["planner"]) == ("ready", 1, "rules")
    assert [s["action"] for s in proposal["steps"]] == ["goto", "fill", "click", "expect_text"]
    assert client.get(f"/v1/plans/{proposal['id']}", headers=ADMIN).json() == proposal

    accepted = client.post(f"/v1/plans/{proposal['id']}/accept", headers=ADMIN)

    assert accepted.status_code == 201, accepted.text
    revision = accepted.json()
    assert accepted.headers["location"] == f"/v1/tests/{test_id}/revisions/2"
    assert (revision["revision"], revision["goal"], revision["steps"]) == (2, GOAL, proposal["steps"])
    assert revision["note"] == f"plan proposal {proposal['id']} accepted (rules planner)"
    shown = client.get(f"/v1/plans/{proposal['id']}", headers=ADMIN).json()
    assert (shown["status"], shown["accepted_revision"]) == ("accepted", 2)
    again = client.post(f"/v1/plans/{proposal['id']}/accept", headers=ADMIN)
    assert again.status_code == 409 and "accepted already, as revision 2" in again.json()["error"]["message"]
    assert client.get(f"/v1/tests/{test_id}", headers=ADMIN).json()["revision"] == 2


def test_a_named_revision_and_the_errors_of_a_request(client: TestClient) -> None:
    test_id = a_goal_test(client)
    client.post(
        f"/v1/tests/{test_id}/revisions", json={"steps": [{"action": "goto", "url": "http://x"}]}, headers=ADMIN
    )

    first = client.post(f"/v1/tests/{test_id}/plans", json={"revision": 1}, headers=ADMIN)
    no_goal = client.post(f"/v1/tests/{test_id}/plans", json={"revision": 2}, headers=ADMIN)
    missing = client.post(f"/v1/tests/{test_id}/plans", json={"revision": 9}, headers=ADMIN)
    unknown = client.post(f"/v1/tests/{test_id}/plans", json={"revision": 1, "model": "x"}, headers=ADMIN)
    no_test = client.post("/v1/tests/tst_nope/plans", headers=ADMIN)
    no_plan = client.get("/v1/plans/pln_nope", headers=ADMIN)

    assert first.status_code == 202 and first.json()["revision"] == 1
    assert no_goal.status_code == 422 and "has no goal to plan" in no_goal.json()["error"]["message"]
    assert missing.status_code == 404 and unknown.status_code == 422
    assert no_test.status_code == 404 and no_plan.status_code == 404


def test_a_goal_the_planner_cannot_read_is_a_failed_proposal_that_cannot_be_accepted(client: TestClient) -> None:
    test_id = a_goal_test(client, GOAL_TEST | {"goal": 'Go to http://x\nCheck "Remember me"'})

    proposal = client.post(f"/v1/tests/{test_id}/plans", headers=ADMIN).json()
    accepted = client.post(f"/v1/plans/{proposal['id']}/accept", headers=ADMIN)

    assert (proposal["status"], proposal["error"]) == ("failed", "cannot read line 2: 'Check \"Remember me\"'")
    assert (
        accepted.status_code == 409 and "only a ready proposal can be accepted" in accepted.json()["error"]["message"]
    )


def test_a_goal_only_run_is_planned_and_an_unreadable_one_is_a_422(client: TestClient) -> None:
    test_id = a_goal_test(client)

    first = client.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN)
    second = client.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN)
    bad = client.post("/v1/runs", json={"spec": {"goal": "Go to http://x\nSing"}}, headers=ADMIN)

    assert first.status_code == 202 and first.json()["stats"]["planner_calls"] == 1
    assert second.status_code == 202 and second.json()["stats"]["planner_calls"] == 0
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_plan"
    assert "cannot read line 2: 'Sing'" in bad.json()["error"]["message"]


def test_with_a_slow_planner_the_proposal_is_pending() -> None:
    fakes = FakeServices(planner=FakePlanner("bedrock"))
    client = TestClient(create_app(fakes.services, max_body_bytes=64 * 1024))
    test_id = a_goal_test(client)

    proposal = client.post(f"/v1/tests/{test_id}/plans", headers=ADMIN)
    run = client.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN)

    assert proposal.status_code == 202 and proposal.json()["status"] == "pending" and proposal.json()["steps"] is None
    assert run.status_code == 202 and run.json()["status"] == "queued" and run.json()["stats"]["planner_calls"] == 0
    assert len(fakes.plan_queue.sent) == 2 and fakes.queue.sent == []


def healed_run(client: TestClient, fakes: FakeServices) -> tuple[str, str]:
    test_id = a_goal_test(client)
    run_id = client.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN).json()["id"]
    heal = Heal(
        before='"Log in"',
        after='role=button name="Sign in"',
        replacement={"role": "button", "name": "Sign in"},
        locator='get_by_role("button", name="Sign in")',
        score=0.74,
        source="fuzzy",
        reason="matched nothing",
    )
    step = StepResult(index=2, action="click", status="passed", heal=heal, healed=True)
    fakes.store.update_run(run_id, {"status": "passed", "steps": [step.model_dump(mode="json")]})
    return test_id, run_id


def test_accepting_a_runs_heals_makes_a_revision(client: TestClient, fakes: FakeServices) -> None:
    test_id, run_id = healed_run(client, fakes)

    accepted = client.post(f"/v1/runs/{run_id}/heals/accept", headers=ADMIN)

    assert accepted.status_code == 201, accepted.text
    revision = accepted.json()
    assert accepted.headers["location"] == f"/v1/tests/{test_id}/revisions/2"
    assert revision["steps"][2]["target"] == {"role": "button", "name": "Sign in", "exact": False}
    assert revision["note"] == f"healed targets of run {run_id} accepted (step 3)"
    other = client.post("/v1/runs", json={"test_id": test_id, "revision": 1}, headers=ADMIN).json()["id"]
    nothing = client.post(f"/v1/runs/{other}/heals/accept", headers=ADMIN)
    assert nothing.status_code == 409 and "healed no target" in nothing.json()["error"]["message"]


def test_another_projects_key_finds_none_of_it(client: TestClient, fakes: FakeServices) -> None:
    # Given a proposal and a healed run in the bootstrap project, and a key of another project
    test_id, run_id = healed_run(client, fakes)
    proposal = client.post(f"/v1/tests/{test_id}/plans", headers=ADMIN).json()["id"]
    made = client.post("/v1/projects", json={"name": "team b"}, headers=ADMIN)
    key_b = {"X-API-Key": made.json()["api_key"]}

    # When that key reaches for them, Then none exists for it, and nothing changed
    assert client.post(f"/v1/tests/{test_id}/plans", headers=key_b).status_code == 404
    assert client.get(f"/v1/plans/{proposal}", headers=key_b).status_code == 404
    assert client.post(f"/v1/plans/{proposal}/accept", headers=key_b).status_code == 404
    assert client.post(f"/v1/runs/{run_id}/heals/accept", headers=key_b).status_code == 404
    assert client.get(f"/v1/plans/{proposal}", headers=ADMIN).json()["status"] == "ready"
    assert client.get(f"/v1/tests/{test_id}", headers=ADMIN).json()["revision"] == 1
    assert client.get(f"/v1/plans/{proposal}").status_code == 401
