"""``autotest plan FILE``: each line with the step it became, from a text file or a test file's goal; the lines the
grammar cannot read named with exit code 1; ``--json`` steps a test file can hold. No server is involved."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from pydantic import TypeAdapter

from cli.main import cli
from cli.state import CliState
from shared.models.plans import Step

LINES = """\
# log in as the admin
Go to {{base_url}}/login
Fill "Username" with "admin"
Fill "Password" with "{{secret:ADMIN_PASSWORD}}"
Click "Log in"
Click "Remove" in the "Cheese" row
Expect not to see "Error". Take a screenshot
"""


def invoke(*args: str) -> Result:
    state = CliState(api_url="http://127.0.0.1:9", api_key="unused")  # never called: plan sends nothing
    state.console.width = 200
    return CliRunner().invoke(cli, list(args), obj=state)


def test_plan_prints_each_line_and_the_step_it_became(tmp_path: Path) -> None:
    path = tmp_path / "login.txt"
    path.write_text(LINES)

    result = invoke("plan", str(path))

    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert out[0] == "2  Go to {{base_url}}/login"
    assert out[1] == "   -> goto  {{base_url}}/login"
    assert '   -> fill  "Username"  = "admin"' in out
    assert '   -> fill  "Password"  = "{{secret:ADMIN_PASSWORD}}"' in out
    assert '   -> click  describe="Remove" in row "Cheese"' in out
    # two sentences of line 7: the line once, both steps under it
    assert out[-4:] == [
        '7  Expect not to see "Error". Take a screenshot',
        '   -> expect_text  not "Error"',
        "   -> screenshot",
        "7 steps",
    ]


def test_plan_reads_the_goal_of_a_test_file(tmp_path: Path) -> None:
    path = tmp_path / "login.yaml"
    path.write_text('name: Plain login\ngoal: |\n  Go to /login\n  Click "Log in"\n')

    result = invoke("plan", str(path))

    assert result.exit_code == 0, result.output
    # a goal written as a YAML block: its lines are numbered as the file's
    assert result.output.splitlines()[:2] == ["3  Go to /login", "   -> goto  /login"]


def test_plan_names_the_file_lines_of_a_yaml_goal_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('name: Plain login\ntags: [x]\ngoal: |\n  Go to /login\n\n  Clik "Log in"\n')

    result = invoke("plan", str(path))

    assert result.exit_code == 1
    assert 'line 6: "Clik "Log in"": not a step I know; closest forms: Click "X"' in result.output


def test_plan_counts_lines_from_the_goals_first_when_they_are_not_the_files(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "t", "goal": 'Go to /login\nClik "Log in"'}))

    result = invoke("plan", str(path))

    assert result.exit_code == 1
    assert "cannot read 1 line of the goal (numbered from its first line)" in result.output
    assert 'line 2: "Clik "Log in""' in result.output


def test_plan_notes_that_a_test_with_steps_runs_its_steps(tmp_path: Path) -> None:
    path = tmp_path / "both.json"
    path.write_text(json.dumps({"name": "t", "goal": 'Click "Go"', "steps": [{"action": "goto", "url": "/"}]}))
    result = invoke("plan", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("note: this test has steps: its runs use them, not the goal")


def test_plan_json_prints_steps_a_test_file_can_hold(tmp_path: Path) -> None:
    path = tmp_path / "login.txt"
    path.write_text(LINES)

    result = invoke("plan", "--json", str(path))

    assert result.exit_code == 0, result.output
    steps = json.loads(result.output)
    assert steps[0] == {"action": "goto", "url": "{{base_url}}/login"}
    row = {"kind": "row", "name": "Cheese"}
    assert steps[4] == {"action": "click", "target": {"describe": "Remove", "within": row}}
    assert steps[5] == {"action": "expect_text", "text": "Error", "absent": True}
    assert len(TypeAdapter(list[Step]).validate_python(steps)) == 7


def test_plan_names_every_line_it_cannot_read_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text('Go to /login\nClik "Save"\n\nFill "Username" with admin\n')

    result = invoke("plan", str(path))

    assert result.exit_code == 1
    assert f"{path}: the grammar cannot read 2 lines:" in result.output
    assert 'line 2: "Clik "Save"": not a step I know; closest forms: Click "X"' in result.output
    assert 'line 4: "Fill "Username" with admin": the value must be in quotes' in result.output


def test_plan_refuses_a_test_file_without_a_goal(tmp_path: Path) -> None:
    path = tmp_path / "steps.yaml"
    path.write_text("name: t\nsteps: [{action: goto, url: /}]\n")
    result = invoke("plan", str(path))
    assert result.exit_code == 2
    assert "it has no 'goal' to plan" in result.output


def test_plan_prints_what_a_line_holds_without_its_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_text('Click "[red]Save\x1b[2J"\n')
    result = invoke("plan", str(path))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "[red]Save" in result.output
