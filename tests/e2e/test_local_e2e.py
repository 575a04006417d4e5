"""`autotest run examples/tests/... --wait --junit` against a real local mode with Chromium."""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from cli.local.mode import LocalInfo, LocalModeThread, LocalOptions
from cli.main import cli
from cli.state import CliState
from runner_container.runner.browser import BrowserPool
from shared.settings import Settings

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tests"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfo]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        table_name=f"e2e-{suffix}",
        run_queue_name=f"e2e-runs-{suffix}",
        run_dlq_name=f"e2e-dlq-{suffix}",
        artifact_bucket=f"e2e-artifacts-{suffix}",
        event_bus_name=f"e2e-bus-{suffix}",
        runner_concurrency=2,
    )
    options = LocalOptions(port=0, example_port=0, data_dir=tmp_path_factory.mktemp("local"), base_settings=settings)
    thread = LocalModeThread(options)
    info = thread.start()
    try:
        yield info
    finally:
        thread.stop()


def junit_root(path: Path) -> ET.Element:
    return ET.parse(path).getroot()  # noqa: S314 - the CLI's own output


def autotest(info: LocalInfo, *args: str) -> tuple[int, str]:
    state = CliState(api_url=info.api_url, api_key=info.api_key)
    result = CliRunner().invoke(cli, list(args), obj=state)
    return result.exit_code, result.output


def test_example_tests_pass_with_a_junit_report(local: LocalInfo, tmp_path: Path) -> None:
    # When the browser and API examples run against the example app
    junit = tmp_path / "out.xml"
    downloads = tmp_path / "artifacts"
    code, output = autotest(
        local,
        "run",
        str(EXAMPLES / "login.yaml"),
        str(EXAMPLES / "api_login.yaml"),
        "--var",
        f"base_url={local.example_url}",
        "--wait",
        "--junit",
        str(junit),
        "--download",
        str(downloads),
    )

    # Then both pass, with live progress, artifact links and a JUnit file CI can read
    assert code == 0, output
    assert "2/2 passed" in output
    assert 'fill label="Password"' in output  # step-by-step progress
    assert "correct-horse" not in output  # the secret never shows
    assert "video.webm" in output
    root = junit_root(junit)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "0", "0")
    assert sorted(c.get("name") or "" for c in root.iter("testcase")) == ["API login and profile", "Admin can log in"]
    # and --download saved every artifact through the API's signed links
    reports = sorted(downloads.glob("*/report.html"))
    assert len(reports) == 2 and all(b"<html" in r.read_bytes().lower() for r in reports)
    assert len(list(downloads.glob("*/screenshots/*.png"))) >= 3


def test_a_failing_test_exits_1(local: LocalInfo, tmp_path: Path) -> None:
    failing = tmp_path / "wrong_welcome.yaml"
    text = (EXAMPLES / "login.yaml").read_text()
    failing.write_text(text.replace("    text: Welcome, admin", "    text: Welcome, nobody\n    timeout_s: 2"))
    junit = tmp_path / "out.xml"

    code, output = autotest(
        local, "run", str(failing), "--var", f"base_url={local.example_url}", "--wait", "--junit", str(junit)
    )

    assert code == 1, output
    failure = junit_root(junit).find("testsuite/testcase/failure")
    assert failure is not None and "Welcome, nobody" in (failure.get("message") or "")


def _run(local: LocalInfo, steps: list[dict[str, Any]]) -> dict[str, Any]:
    headers = {"X-API-Key": local.api_key}
    with httpx.Client(base_url=local.api_url, headers=headers, timeout=10) as http:
        run = http.post("/v1/runs", json={"spec": {"name": "guard", "steps": steps}}).json()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got: dict[str, Any] = http.get(f"/v1/runs/{run['id']}").json()
            if got["status"] not in ("queued", "running"):
                return got
            time.sleep(0.2)
    raise AssertionError(f"run {run['id']} did not end")


def _errors(run: dict[str, Any]) -> list[str]:
    return [str(step.get("error") or "") for step in run["steps"]]


def test_tests_reach_the_example_app_but_never_the_api_itself(local: LocalInfo) -> None:
    api_port = local.api_url.rsplit(":", 1)[1]
    assert local.example_url is not None

    # Given the example app on this machine: a request step and a browser reach it
    reachable = _run(
        local,
        [
            {"action": "request", "url": f"{local.example_url}/api/items", "expect": [{"status": 200}]},
            {"action": "goto", "url": f"{local.example_url}/"},
        ],
    )
    assert reachable["status"] == "passed", reachable

    # When tests aim at the API's own port, under any address form
    for steps in (
        [{"action": "request", "url": f"{local.api_url}/healthz"}],
        [{"action": "request", "url": f"http://localhost:{api_port}/v1/tests"}],
        [{"action": "goto", "url": f"http://0x7f.1:{api_port}/healthz"}],
        [{"action": "goto", "url": f"http://2130706433:{api_port}/docs"}],
        [{"action": "goto", "url": f"{local.example_url}/redirect?to=http://127.1:{api_port}/healthz"}],
        [
            {"action": "goto", "url": f"{local.example_url}/"},
            {"action": "goto", "url": f"http://[::ffff:127.0.0.1]:{api_port}/healthz"},
        ],
    ):
        run = _run(local, steps)

        # Then the network guard refuses them: the step fails saying why
        assert run["status"] == "failed", (steps, run)
        assert any("closed to tests" in e for e in _errors(run)), (steps, _errors(run))


def _video_run_links(local: LocalInfo) -> tuple[dict[str, str], httpx.Headers, httpx.Headers]:
    """A browser run's artifact links, and the headers its report and its video are served with."""
    run = _run(local, [{"action": "goto", "url": f"{local.example_url}/login"}])
    assert run["status"] == "passed", run
    with httpx.Client(base_url=local.api_url, headers={"X-API-Key": local.api_key}, timeout=10) as http:
        links = {a["name"]: a["url"] for a in http.get(f"/v1/runs/{run['id']}/artifacts").json()["artifacts"]}
        return links, http.get(links["report.html"]).headers, http.get(links["video.webm"]).headers


@pytest.mark.asyncio(loop_scope="session")
async def test_an_artifact_link_plays_its_video_in_the_browser_and_a_report_runs_no_script(
    local: LocalInfo, pool: BrowserPool
) -> None:
    # Given a browser run with a video, and its artifact links
    links, report, video = await asyncio.to_thread(_video_run_links, local)
    # the report is sandboxed (no script on the API's origin); the video is not (it would not play)
    assert report["content-security-policy"] == "sandbox"
    assert "content-security-policy" not in video

    # When a browser opens the video's link
    async with pool.context() as context:
        page = await context.new_page()
        await page.goto(links["video.webm"])
        # Then it plays: the video's metadata loads
        ready = await page.wait_for_function("() => document.querySelector('video')?.readyState >= 1", timeout=10_000)
        assert await ready.json_value()
