"""A plain-English test in a real local mode with Chromium, through the CLI: a goal-only test runs (planned
first), a rerun plans nothing, a proposal shows the plan and accepting it saves it as steps, a run with no heals
has none to accept. The planner is a stand-in written here (the sentence grammar is another module's): it reads
the login goal line by line."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import TypeAdapter

from cli.local.mode import LocalInfo, LocalModeThread, LocalOptions
from cli.main import cli
from cli.state import CliState
from shared.models.planning import PlanFailed, PlanOutcome, PlanRequest
from shared.models.plans import Plan
from shared.settings import Settings

pytestmark = pytest.mark.e2e

#: line -> step: the plain-English login test, as a grammar would read it
LINES: dict[str, dict[str, Any]] = {
    "Go to {{base_url}}/login": {"action": "goto", "url": "{{base_url}}/login"},
    'Fill "Username" with "admin"': {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
    'Fill "Password" with "{{secret:ADMIN_PASSWORD}}"': {
        "action": "fill",
        "target": {"label": "Password"},
        "value": "{{secret:ADMIN_PASSWORD}}",
    },
    'Click "Log in"': {"action": "click", "target": {"role": "button", "name": "Log in"}},
    'Expect to see "Welcome, admin"': {"action": "expect_text", "text": "Welcome, admin"},
}
GOAL = "\n".join(LINES)


class LoginPlanner:
    name = "rules"

    def __init__(self) -> None:
        self.calls = 0

    def plan(self, request: PlanRequest) -> PlanOutcome:
        self.calls += 1
        unread = [f"line {n}: {line!r}" for n, line in enumerate(request.goal.splitlines(), 1) if line not in LINES]
        if unread:
            raise PlanFailed("cannot read " + "; ".join(unread))
        steps = TypeAdapter(Plan).validate_python([LINES[line] for line in request.goal.splitlines()])
        return PlanOutcome(steps=steps, planner="rules")


@pytest.fixture(scope="module")
def planner() -> LoginPlanner:
    return LoginPlanner()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, planner: LoginPlanner) -> Iterator[LocalInfo]:
    patch = pytest.MonkeyPatch()
    patch.setattr("shared.planning.choose.planner_for", lambda settings: planner)
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        table_name=f"plans-{suffix}",
        run_queue_name=f"plans-runs-{suffix}",
        run_dlq_name=f"plans-dlq-{suffix}",
        plan_queue_name=f"plans-plans-{suffix}",
        plan_dlq_name=f"plans-plans-dlq-{suffix}",
        artifact_bucket=f"plans-artifacts-{suffix}",
        event_bus_name=f"plans-bus-{suffix}",
        screenshots="off",
        record_video=False,
        record_trace=False,
    )
    options = LocalOptions(port=0, example_port=0, data_dir=tmp_path_factory.mktemp("local"), base_settings=settings)
    thread = LocalModeThread(options)
    info = thread.start()
    try:
        yield info
    finally:
        thread.stop()
        patch.undo()


def autotest(info: LocalInfo, *args: str) -> tuple[int, str]:
    state = CliState(api_url=info.api_url, api_key=info.api_key)
    result = CliRunner().invoke(cli, list(args), obj=state)
    return result.exit_code, result.output


def test_a_plain_english_test_runs_plans_once_and_its_plan_can_be_accepted(
    local: LocalInfo, planner: LoginPlanner, tmp_path: Path
) -> None:
    # Given a saved test with only a goal
    test_file = tmp_path / "login.json"
    test_file.write_text(json.dumps({"name": "Admin logs in (plain English)", "goal": GOAL}))
    code, output = autotest(local, "tests", "create", "-f", str(test_file), "--json")
    assert code == 0, output
    test_id = json.loads(output)["id"]

    # When it runs twice against the example app
    runs = []
    for _ in range(2):
        code, output = autotest(local, "run", test_id, "--var", f"base_url={local.example_url}", "--wait", "--json")
        assert code == 0, output
        runs.append(json.loads(output)[0]["run"])

    # Then both pass, the first planned the goal and the rerun planned nothing
    assert [r["status"] for r in runs] == ["passed", "passed"], runs
    assert [r["stats"]["planner_calls"] for r in runs] == [1, 0]
    assert [s["action"] for s in runs[0]["steps"]] == ["goto", "fill", "fill", "click", "expect_text"]
    assert planner.calls == 1

    # When a proposal is asked for, shown and accepted
    code, output = autotest(local, "plans", "request", test_id, "--wait", "--json")
    assert code == 0, output
    proposal = json.loads(output)
    code, accepted = autotest(local, "plans", "accept", proposal["id"])

    # Then it was ready at once (the planner plans inline) and revision 2 holds its steps
    assert proposal["status"] == "ready" and len(proposal["steps"]) == 5
    assert code == 0 and f"saved revision 2 of {test_id}  (5 steps)" in accepted, accepted
    code, output = autotest(local, "tests", "show", test_id, "--json")
    assert json.loads(output)["spec"]["steps"] == proposal["steps"]

    # And the run healed nothing, so it has no heals to accept
    code, output = autotest(local, "heals", "accept", runs[1]["id"])
    assert code != 0 and "healed no target" in output


def test_a_goal_the_planner_cannot_read_is_refused_naming_the_line(local: LocalInfo, tmp_path: Path) -> None:
    test_file = tmp_path / "bad.json"
    test_file.write_text(json.dumps({"name": "bad", "goal": "Go to {{base_url}}/login\nDance"}))
    code, output = autotest(local, "run", str(test_file), "--var", f"base_url={local.example_url}", "--wait")

    assert code != 0
    assert "cannot read line 2: 'Dance'" in output
