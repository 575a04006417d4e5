"""A flaky test retried in local mode, followed live by ``autotest run --wait`` over the event stream (the bus-fed
source): attempt 1's steps, a line that it is retried, attempt 2's steps, each once and under its own attempt,
and ``(flaky)`` on the results line."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from cli.client import parse_sse
from cli.local.mode import LocalInfo
from cli.main import cli
from cli.state import CliState
from tests.e2e.conftest import local_mode

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfo]:
    with local_mode(tmp_path_factory, "retry") as info:
        yield info


def test_a_retried_run_is_followed_attempt_by_attempt(local: LocalInfo, tmp_path: Path) -> None:
    # Given a test of the example app's /flaky ("Not yet" the first time a key is seen), retried once
    assert local.example_url is not None and local.example_url.startswith("http://127.0.0.1:")
    test = {
        "name": "Flaky page settles",
        "retries": 1,
        "steps": [
            {"action": "goto", "url": "{{base_url}}/flaky?key={{key}}"},
            {"action": "expect_text", "text": "Stable now", "timeout_s": 0.5},
        ],
    }
    path = tmp_path / "flaky.yaml"
    path.write_text(yaml.safe_dump(test))
    key = uuid.uuid4().hex
    state = CliState(api_url=local.api_url, api_key=local.api_key)
    state.console.width = 200

    # When it is run and followed with --wait
    result = CliRunner().invoke(
        cli,
        ["run", str(path), "--var", f"base_url={local.example_url}", "--var", f"key={key}", "--wait"],
        obj=state,
    )

    # Then attempt 1's steps come, then a line that it is retried, then attempt 2's steps, each once
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    progress = [
        line for line in lines if line.startswith(("✓", "✗", "↻", "queued", "running")) and "results" not in line
    ]
    marks = [line.split()[0] if not line.startswith("↻") else "↻" for line in progress]
    # (the run may have started before its stream opened: then its first line is "running")
    assert marks[marks.index("running") :] == ["running", "✓", "✗", "↻", "queued", "running", "✓", "✓"], result.output
    retry = next(line for line in progress if line.startswith("↻"))
    assert "attempt 1 FAILED" in retry and "retrying as attempt 2" in retry
    assert sum(1 for line in lines if " 1. goto" in line) == 2, result.output  # once per attempt
    headline = next(line for line in lines if line.startswith("PASSED") and "Flaky page settles" in line)
    assert "attempt 2/2" in headline and "(flaky)" in headline

    # and the stream of the ended run tells attempt 2's steps under its number
    run_id = next(word for word in headline.split() if word.startswith("run_"))
    with httpx.stream(
        "GET", f"{local.api_url}/v1/runs/{run_id}/events", headers={"X-API-Key": local.api_key}, timeout=20
    ) as response:
        events = list(parse_sse(response.iter_lines()))
    steps = [json.loads(e.data) for e in events if e.event == "step"]
    assert [(s["attempt"], s["step"]["index"], s["step"]["status"]) for s in steps] == [
        (2, 0, "passed"),
        (2, 1, "passed"),
    ]
