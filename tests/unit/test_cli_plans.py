"""``autotest plans request|show|accept`` and ``autotest heals accept`` against the real API app (FastAPI
TestClient over in-memory services, a fake planner)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from cli.main import cli
from cli.state import CliState
from functions.api.app import create_app
from shared.models.runs import Heal, StepResult
from tests.conftest import BOOTSTRAP_KEY, FakeServices
from tests.fakes import FakePlanner

ADMIN = {"X-API-Key": BOOTSTRAP_KEY}
GOAL = 'Go to http://127.0.0.1:8001/login\nFill "Username" with "admin"\nClick "Log in"'

Invoke = Callable[..., Result]


def invoker(app: TestClient) -> Invoke:
    def invoke(*args: str) -> Result:
        state = CliState(api_url="http://testserver", api_key=BOOTSTRAP_KEY, transport=app._transport)
        state.console.width = 200
        return CliRunner().invoke(cli, list(args), obj=state)

    return invoke


@pytest.fixture
def app(fakes: FakeServices) -> TestClient:
    return TestClient(create_app(fakes.services))


@pytest.fixture
def run_cli(app: TestClient) -> Invoke:
    return invoker(app)


def a_goal_test(app: TestClient, goal: str = GOAL) -> str:
    created = app.post("/v1/tests", json={"name": "Admin can log in", "goal": goal}, headers=ADMIN)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_request_prints_the_plan_and_how_to_accept_it(run_cli: Invoke, app: TestClient) -> None:
    test_id = a_goal_test(app)

    result = run_cli("plans", "request", test_id)

    assert result.exit_code == 0, result.output
    proposal_id = result.output.split()[0]
    assert proposal_id.startswith("pln_") and "ready" in result.output and "(rules planner)" in result.output
    assert "  1. goto url='http://127.0.0.1:8001/login'" in result.output
    assert "  2. fill 'Username' value='admin'" in result.output
    assert "  3. click 'Log in'" in result.output
    assert f"accept it: autotest plans accept {proposal_id}" in result.output


def test_show_and_accept_then_accept_again_is_refused(run_cli: Invoke, app: TestClient) -> None:
    test_id = a_goal_test(app)
    proposal = json.loads(run_cli("plans", "request", test_id, "--revision", "1", "--json").output)

    shown = run_cli("plans", "show", proposal["id"])
    accepted = run_cli("plans", "accept", proposal["id"])
    again = run_cli("plans", "accept", proposal["id"])
    after = json.loads(run_cli("plans", "show", proposal["id"], "--json").output)

    assert shown.exit_code == 0 and "ready" in shown.output and "3. click" in shown.output
    assert accepted.exit_code == 0, accepted.output
    assert f"saved revision 2 of {test_id}  (3 steps)" in accepted.output
    assert f"plan proposal {proposal['id']} accepted" in accepted.output
    assert again.exit_code != 0 and "accepted already, as revision 2" in again.output
    assert after["status"] == "accepted" and after["accepted_revision"] == 2


def test_a_failed_plan_exits_1_naming_the_line(run_cli: Invoke, app: TestClient) -> None:
    # a line the sentence grammar reads when the test is saved, which this planner cannot (a model that fails)
    test_id = a_goal_test(app, 'Go to http://x\nHover over "Menu"')

    result = run_cli("plans", "request", test_id)

    assert result.exit_code == 1
    assert "failed" in result.output and "cannot read line 2: 'Hover over \"Menu\"'" in result.output
    assert "accept it" not in result.output


def test_wait_polls_a_pending_proposal_until_it_is_filled(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a planner that plans through the worker, and a worker that fills the proposal between polls
    fakes = FakeServices(planner=FakePlanner("bedrock"))
    app = TestClient(create_app(fakes.services))
    test_id = a_goal_test(app)

    def worker_fills(_: float) -> None:
        for message in fakes.plan_queue.sent:
            assert message.proposal_id is not None
            fakes.planning.fill_proposal(message.project_id, message.proposal_id)

    monkeypatch.setattr("cli.commands.plans.time.sleep", worker_fills)

    waited = invoker(app)("plans", "request", test_id, "--wait")
    pending = invoker(app)("plans", "request", test_id, "--json")

    assert waited.exit_code == 0, waited.output
    assert "ready" in waited.output and "3. click" in waited.output
    assert json.loads(pending.output)["status"] == "pending"


def test_bad_ids_are_refused_before_any_request(run_cli: Invoke) -> None:
    for args in (("plans", "show", "../tests"), ("plans", "accept", "a b"), ("heals", "accept", "x/y")):
        result = run_cli(*args)
        assert result.exit_code == 2 and "is not a" in result.output, args


def test_heals_accept_saves_a_revision(run_cli: Invoke, app: TestClient, fakes: FakeServices) -> None:
    test_id = a_goal_test(app)
    run_id = app.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN).json()["id"]
    heal = Heal(
        before="'Log in'",
        after='role=button name="Sign in"',
        replacement={"role": "button", "name": "Sign in"},
        locator='get_by_role("button", name="Sign in")',
        score=0.7,
        source="fuzzy",
        reason="matched nothing",
    )
    step = StepResult(index=2, action="click", status="passed", heal=heal, healed=True)
    fakes.store.update_run(run_id, {"status": "passed", "steps": [step.model_dump(mode="json")]})

    result = run_cli("heals", "accept", run_id)
    again = run_cli("heals", "accept", run_id)

    assert result.exit_code == 0, result.output
    assert f"saved revision 2 of {test_id}  (the heals of {run_id})" in result.output
    assert f"healed targets of run {run_id} accepted (step 3)" in result.output
    saved = app.get(f"/v1/tests/{test_id}/revisions/2", headers=ADMIN).json()
    assert saved["steps"][2]["target"] == {"role": "button", "name": "Sign in", "exact": False}
    # accepting again would build on revision 1 and drop revision 2: refused, saying what to do
    assert again.exit_code != 0 and "which has revision 2 since" in again.output
    none = run_cli("heals", "accept", app.post("/v1/runs", json={"test_id": test_id}, headers=ADMIN).json()["id"])
    assert none.exit_code != 0 and "healed no target" in none.output


def test_server_text_is_shown_escaped_not_obeyed(run_cli: Invoke, app: TestClient, fakes: FakeServices) -> None:
    test_id = a_goal_test(app, 'Go to http://x\nHover over "Menu"')
    proposal = json.loads(run_cli("plans", "request", test_id, "--json").output)
    key = ("default", proposal["id"])
    fakes.plans.proposals[key] = fakes.plans.proposals[key].model_copy(update={"error": "bad \x1b[2J\u202eline"})

    shown = run_cli("plans", "show", proposal["id"])

    assert "\x1b[2J" not in shown.output and "\u202e" not in shown.output
    assert "\\x1b[2J" in shown.output


def test_a_goal_the_grammar_cannot_read_is_shown_a_line_per_problem(run_cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text('name: t\ngoal: |\n  Go to http://127.0.0.1:8001\n  Clik "Save"\n  Dance\n')

    result = run_cli("tests", "create", "-f", str(path))

    assert result.exit_code != 0
    assert "\\x0a" not in result.output
    assert '\nline 2: "Clik \\"Save\\""' in result.output or '\nline 2: "Clik "Save""' in result.output
    assert '\nline 3: "Dance"' in result.output


def test_a_planned_step_is_shown_with_every_field_it_sets() -> None:
    from cli.commands.plans import step_text

    shown = step_text({"action": "expect_text", "text": "Cheese", "absent": True, "timeout_s": 5.0})

    assert shown == "expect_text text='Cheese' absent=True timeout_s=5.0"  # not "expect Cheese": the opposite


def test_a_run_that_healed_says_how_to_keep_its_heals() -> None:
    from cli.output import heal_hint, run_headline

    run = {"id": "run_1", "test_id": "tst_1", "status": "passed", "stats": {"heals": 2}, "steps": []}

    assert "2 healed" in run_headline(run)
    assert heal_hint(run) is not None and "autotest heals accept run_1" in str(heal_hint(run))
    assert heal_hint({**run, "stats": {"heals": 0}}) is None
    assert heal_hint({**run, "test_id": None}) is None  # an inline spec has no test to keep them in


def test_revisions_lists_each_revision_and_how_it_was_made(
    run_cli: Invoke, app: TestClient, fakes: FakeServices
) -> None:
    test_id = a_goal_test(app)
    proposal = json.loads(run_cli("plans", "request", test_id, "--json").output)
    assert run_cli("plans", "accept", proposal["id"]).exit_code == 0

    listed = run_cli("tests", "revisions", test_id)

    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if line.strip()[:1].isdigit()]
    assert len(lines) == 2
    assert "goal only" in lines[0] and "steps" in lines[1] and proposal["id"] in lines[1]
