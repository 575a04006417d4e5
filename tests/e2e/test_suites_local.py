"""Suites end to end in local mode with real runs in Chromium: a parallel suite run from the CLI with a JUnit file
(the CI command), a sequential scenario with fail_fast skipping, and labels carried to every child run."""

from __future__ import annotations

import contextlib
import shlex
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from cli.local.mode import LocalInfo
from cli.main import cli
from cli.state import CliState
from tests.e2e.conftest import local_mode

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "tests"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfo]:
    with local_mode(tmp_path_factory, "suites", runner_concurrency=2) as info:
        yield info


def autotest(info: LocalInfo, *args: str) -> tuple[int, str]:
    state = CliState(api_url=info.api_url, api_key=info.api_key)
    result = CliRunner().invoke(cli, list(args), obj=state)
    return result.exit_code, result.output


def api(info: LocalInfo, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method, f"{info.api_url}{path}", json=body, headers={"X-API-Key": info.api_key}, timeout=30
    )
    assert response.status_code < 300, response.text
    return response.json()


def save(info: LocalInfo, name: str, body: dict[str, Any]) -> str:
    return str(api(info, "POST", "/v1/tests", {"name": name, **body})["id"])


def wait_for_end(info: LocalInfo, suite_run_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run: dict[str, Any] = api(info, "GET", f"/v1/suite-runs/{suite_run_id}")
        if run["status"] in ("passed", "failed", "error", "cancelled"):
            return run
        time.sleep(0.5)
    raise AssertionError(f"suite run {suite_run_id} did not end in {timeout_s}s")


def ensure_smoke(info: LocalInfo) -> None:
    """The smoke examples saved and the example suite file created (once per local mode)."""
    if api(info, "GET", "/v1/suites?name=Smoke")["items"]:
        return
    for name in ("login.yaml", "api_login.yaml"):
        code, output = autotest(info, "tests", "create", "-f", str(EXAMPLES / name))
        assert code == 0, output
    code, output = autotest(info, "suites", "create", "-f", str(ROOT / "examples" / "suites" / "smoke.yaml"))
    assert code == 0, output


def test_a_parallel_suite_from_the_cli_passes_with_one_junit_case_per_child(local: LocalInfo, tmp_path: Path) -> None:
    # Given the smoke examples saved, and the example suite file
    ensure_smoke(local)

    # When CI runs it for an app version, waiting, with a JUnit file
    junit = tmp_path / "junit.xml"
    code, output = autotest(
        local,
        "suites",
        "run",
        "Smoke",
        "--label",
        "app_version=1.4.2",
        "--var",
        f"base_url={local.example_url}",
        "--wait",
        "--junit",
        str(junit),
    )

    # Then it passes, the JUnit file has a case per child run, and every child carries the labels
    assert code == 0, output
    assert "2/2 passed" in output
    root = ET.parse(junit).getroot()  # noqa: S314 - the CLI's own output
    cases = root.findall(".//testcase")
    assert sorted(c.get("name") or "" for c in cases) == ["API login and profile", "Admin can log in"]
    assert root.find(".//property[@name='label.app_version']") is not None
    runs = api(local, "GET", "/v1/runs?label=app_version:1.4.2")["items"]
    assert len(runs) == 2 and all(r["trigger"] == "suite" and r["suite_run_id"] for r in runs)
    assert all(r["labels"] == {"environment": "local", "app_version": "1.4.2"} for r in runs)
    listed = api(local, "GET", "/v1/suite-runs?label=app_version:1.4.2")["items"]
    assert len(listed) == 1 and listed[0]["status"] == "passed" and listed[0]["counts"]["passed"] == 2


def test_a_sequential_scenario_hands_variables_on_and_fail_fast_skips(local: LocalInfo, tmp_path: Path) -> None:
    base = local.example_url
    # A login that extracts a token, a step that uses it, then one that fails, then one that never runs
    login = save(
        local,
        "scenario: log in",
        {
            "kind": "api",
            "steps": [
                {
                    "action": "request",
                    "method": "POST",
                    "url": f"{base}/api/login",
                    "json": {"username": "admin", "password": "{{secret:ADMIN_PASSWORD}}"},
                    "extract": {"token": "$.token"},
                    "expect": [{"status": 200}],
                }
            ],
        },
    )
    profile = save(
        local,
        "scenario: profile",
        {
            "kind": "api",
            "steps": [
                {
                    "action": "request",
                    "url": f"{base}/api/me",
                    "headers": {"Authorization": "Bearer {{token}}"},
                    "expect": [{"status": 200}],
                }
            ],
        },
    )
    broken = save(
        local,
        "scenario: broken",
        {"steps": [{"action": "goto", "url": f"{base}/"}, {"action": "expect_text", "text": "No such text here"}]},
    )
    never = save(
        local, "scenario: never", {"kind": "api", "steps": [{"action": "request", "url": f"{base}/api/items"}]}
    )
    suite_file = tmp_path / "scenario.yaml"
    suite_file.write_text(
        yaml.safe_dump(
            {"name": "Scenario", "tests": [login, profile, broken, never], "mode": "sequential", "fail_fast": True}
        )
    )
    code, output = autotest(local, "suites", "create", "-f", str(suite_file))
    assert code == 0, output

    code, output = autotest(local, "suites", "run", "Scenario", "--wait", "--junit", str(tmp_path / "j.xml"))

    assert code == 1, output  # a failed suite run exits 1, as a failed run does
    listed = api(local, "GET", "/v1/suite-runs")["items"]
    run = next(r for r in listed if r["suite_name"] == "Scenario")
    assert [c["status"] for c in run["children"]] == ["passed", "passed", "failed", "skipped"]
    assert "token" in run["extracted"]  # what the login extracted went to the profile step
    assert run["children"][3]["run_id"] is None and "fail_fast" in run["children"][3]["error"]
    assert run["counts"] == {**run["counts"], "passed": 2, "failed": 1, "skipped": 1, "total": 4}
    assert "No such text here" in output
    cases = ET.parse(tmp_path / "j.xml").getroot().findall(".//testcase")  # noqa: S314
    assert [c.find("skipped") is not None for c in cases] == [False, False, False, True]


def test_cancelling_a_suite_run_cancels_its_children(local: LocalInfo) -> None:
    steps = [
        {"action": "goto", "url": f"{local.example_url}/delayed?ms=3000"},
        {"action": "wait_for", "target": {"role": "button", "name": "Continue"}},
        {"action": "click", "target": {"role": "button", "name": "Continue"}},
    ]
    slow = save(local, "slow page", {"steps": steps})
    suite = api(local, "POST", "/v1/suites", {"name": "Slow", "tests": [slow], "max_parallel": 1})
    started = api(local, "POST", f"/v1/suites/{suite['id']}/runs", {})
    api(local, "POST", f"/v1/suite-runs/{started['id']}/cancel")
    ended = wait_for_end(local, started["id"])
    assert ended["status"] == "cancelled"
    child = api(local, "GET", f"/v1/runs/{ended['children'][0]['run_id']}")
    assert child["status"] == "cancelled"


def test_the_example_ci_workflows_command_runs_the_suite(local: LocalInfo, tmp_path: Path) -> None:
    # The command the example GitHub Actions workflow runs, with its ${{ }} expressions filled in
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["suite"]["steps"]
    command = next(step["run"] for step in steps if "suites run" in str(step.get("run")))
    filled = command.replace("${{ github.sha }}", "0123abc").replace("${{ vars.APP_URL }}", str(local.example_url))
    assert "${{" not in filled
    args = shlex.split(filled)
    assert args[0] == "autotest"
    ensure_smoke(local)

    with contextlib.chdir(tmp_path):
        code, output = autotest(local, *args[1:])
        junit = tmp_path / "autotest-junit.xml"

        assert code == 0, output
        assert junit.exists()  # the file the workflow uploads
        cases = ET.parse(junit).getroot().findall(".//testcase")  # noqa: S314
        assert len(cases) == 2 and all(c.find("failure") is None for c in cases)
    runs = api(local, "GET", "/v1/runs?label=app_version:0123abc&label=environment:ci")["items"]
    assert len(runs) == 2


def test_a_child_that_passes_on_its_retry_is_flaky_in_the_suite_and_the_stats(local: LocalInfo) -> None:
    key = uuid.uuid4().hex
    steps = [
        {"action": "goto", "url": f"{local.example_url}/flaky?key={key}"},
        {"action": "expect_text", "text": "Stable now"},
    ]
    flaky = save(local, f"flaky {key[:6]}", {"steps": steps, "retries": 1})
    suite = api(local, "POST", "/v1/suites", {"name": f"Flaky {key[:6]}", "tests": [flaky]})
    ended = wait_for_end(local, api(local, "POST", f"/v1/suites/{suite['id']}/runs", {})["id"])

    assert ended["status"] == "passed" and ended["counts"]["flaky"] == 1
    child = api(local, "GET", f"/v1/runs/{ended['children'][0]['run_id']}")
    assert child["flaky"] and [a["status"] for a in child["attempts"]] == ["failed", "passed"]
    stats = api(local, "GET", f"/v1/tests/{flaky}/stats")
    assert stats["flaky"] == 1 and stats["passed"] == 1
    flakiest = api(local, "GET", "/v1/stats/flaky")["items"]
    assert flaky in [t["test_id"] for t in flakiest]


def test_browser_children_beyond_max_parallel_run_in_batches_and_pass(local: LocalInfo) -> None:
    # Given four browser tests and a suite that runs two at once (local mode batches up to 4 by default)
    steps = [
        {"action": "goto", "url": f"{local.example_url}/login"},
        {"action": "expect_visible", "target": {"role": "button", "name": "Log in"}},
    ]
    tests = [save(local, f"batched {i}", {"steps": steps}) for i in range(4)]
    suite = api(local, "POST", "/v1/suites", {"name": "Batched", "tests": tests, "max_parallel": 2})

    # When it runs
    started = api(local, "POST", f"/v1/suites/{suite['id']}/runs", {})

    # Then two messages went (two slots), two children each (the batch each run records), and every child passed
    ids = {c["run_id"] for c in started["children"]}
    batches = [c["batch"] for c in started["children"]]
    assert set(batches) <= ids and sorted(batches.count(b) for b in set(batches)) == [2, 2]
    ended = wait_for_end(local, started["id"])
    assert ended["status"] == "passed" and ended["counts"]["passed"] == 4
    assert [c["batch"] for c in ended["children"]] == batches  # what the runs record
