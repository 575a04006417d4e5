"""Priority end to end in ``autotest local`` with one runner slot: a high run started by the CLI (its default)
behind a queue of low runs from the API is the next one taken, and its queue wait is recorded."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from cli.local.mode import LocalInfo
from cli.main import cli
from cli.state import CliState
from tests.e2e.conftest import local_mode

pytestmark = pytest.mark.e2e
LOWS = 6


def api(info: LocalInfo, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method, f"{info.api_url}{path}", json=body, headers={"X-API-Key": info.api_key}, timeout=30
    )
    assert response.status_code < 300, response.text
    return response.json()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_high_run_overtakes_a_queue_of_low_ones(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    with local_mode(tmp_path_factory, "prio", runner_concurrency=1) as info:
        assert info.example_url is not None
        # Given one runner slot and a queue of low-priority API runs, each a request that takes 300 ms
        spec = {
            "name": "slow request",
            "kind": "api",
            "steps": [{"action": "request", "url": f"{info.example_url}/slow?ms=300"}],
        }
        lows = [api(info, "POST", "/v1/runs", {"spec": spec, "priority": "low"})["id"] for _ in range(LOWS)]
        assert all(api(info, "GET", f"/v1/runs/{run_id}")["priority"] == "low" for run_id in lows)

        # When CI's CLI starts a run (high, by default)
        file = tmp_path / "check.json"
        file.write_text(json.dumps({**spec, "name": "pull request check"}))
        state = CliState(api_url=info.api_url, api_key=info.api_key)
        result = CliRunner().invoke(cli, ["run", str(file), "--wait"], obj=state)
        assert result.exit_code == 0, result.output
        assert "priority high, waited" in result.output

        # Then it started before every low run that had not started when it was sent
        deadline = time.monotonic() + 60
        while True:
            runs = [api(info, "GET", f"/v1/runs/{run_id}") for run_id in lows]
            if all(r["status"] == "passed" for r in runs) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert [r["status"] for r in runs] == ["passed"] * LOWS
        [high] = api(info, "GET", "/v1/runs?limit=50")["items"][:1]
        assert high["name"] == "pull request check" and high["priority"] == "high" and high["trigger"] == "cli"
        created, started = at(high["created_at"]), at(high["started_at"])
        waiting = [r for r in runs if at(r["started_at"]) > created]  # still queued when the high one was sent
        assert len(waiting) >= LOWS // 2, "the queue of low runs was not full: the test proves nothing"
        assert all(at(r["started_at"]) > started for r in waiting)
        # it waited for the one run in flight at most (300 ms and the hand-over), not for the queue
        assert high["queue_wait_ms"] is not None and high["queue_wait_ms"] < 2000
        assert all(r["queue_wait_ms"] is not None for r in runs)
