"""YAML test files: a "billion laughs" alias bomb is refused at once, naming the file and line; ordinary
anchors and aliases still load."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from cli.client import CliError
from cli.main import cli
from cli.state import CliState
from cli.testfile import load_test_file
from shared import safeyaml


def billion_laughs(levels: int = 9) -> str:
    """The classic bomb: each level lists the previous one nine times (9^levels values once expanded)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    lines += ["name: laughs", "steps: [{action: goto, url: 'http://127.0.0.1/'}]", f"dataset: *l{levels - 1}"]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(20)
def test_the_classic_bomb_is_refused_at_once_by_tests_create(tmp_path: Path) -> None:
    # Given a test file holding a 9-level alias bomb, and an API that records what it is sent
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    sent: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    state = CliState(api_url="http://api.test", api_key="atk_test", transport=httpx.MockTransport(api))

    # When `autotest tests create -f` reads it
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["tests", "create", "-f", str(path)], obj=state)
    elapsed = time.monotonic() - started

    # Then it is refused in well under a second, naming the file and the line of the alias, and nothing is sent
    assert result.exit_code == 2, result.output
    assert elapsed < 0.5, elapsed
    assert f"{path}: refused: line 5, column 10: the alias *l3 expands the document past 10000" in result.output
    assert sent == []


def test_the_bomb_is_refused_by_the_loader_before_anything_walks_it() -> None:
    started = time.monotonic()
    with pytest.raises(safeyaml.AliasLimitExceeded) as refused:
        safeyaml.load(billion_laughs())
    assert time.monotonic() - started < 0.5
    assert refused.value.problem_mark is not None and refused.value.problem_mark.line == 4


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(safeyaml.AliasLimitExceeded, match=r"the alias \*a is inside the node it refers to"):
        safeyaml.load("a: &a [1, *a]")


def test_a_file_with_a_few_anchors_and_aliases_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "login.yaml"
    path.write_text(
        """
name: anchors
variables: &vars {base_url: "http://127.0.0.1:8001", user: admin}
steps:
  - &open {action: goto, url: "{{base_url}}/login"}
  - {action: fill, target: {label: Username}, value: "{{user}}"}
  - *open
  - {<<: *open, description: the login page again}
dataset:
  - *vars
  - {<<: *vars, user: bob}
"""
    )
    data = load_test_file(path)
    assert data["steps"][2] == data["steps"][0] == {"action": "goto", "url": "{{base_url}}/login"}
    assert data["steps"][3]["description"] == "the login page again"
    assert data["dataset"] == [
        {"base_url": "http://127.0.0.1:8001", "user": "admin"},
        {"base_url": "http://127.0.0.1:8001", "user": "bob"},
    ]


def test_a_large_file_without_aliases_is_not_limited() -> None:
    rows = "\n".join(f"  - {{n: {i}, name: row-{i}, flag: true}}" for i in range(2000))  # 14,000 nodes
    data = safeyaml.load(f"name: big\ndataset:\n{rows}\n")
    assert len(data["dataset"]) == 2000


def test_aliases_up_to_the_limit_load() -> None:
    # a list of 99 values: each alias of it adds 99 values; 101 aliases add 9,999, one more is past 10,000
    def doc(uses: int) -> str:
        return "a: &a [" + ", ".join(str(i) for i in range(99)) + "]\nb: [" + ", ".join(["*a"] * uses) + "]\n"

    assert len(safeyaml.load(doc(101))["b"]) == 101
    with pytest.raises(safeyaml.AliasLimitExceeded, match="past 10000"):
        safeyaml.load(doc(102))


def test_other_yaml_errors_are_still_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nsteps: [*nowhere]\n")
    with pytest.raises(CliError, match=r"not valid YAML: line 2, column 9: found undefined alias 'nowhere'"):
        load_test_file(path)
    assert isinstance(safeyaml.AliasLimitExceeded("x"), yaml.YAMLError)
