"""``autotest local`` killed (SIGKILL) right after acknowledged writes loses none of them.

One data directory, several lives: each life creates tests and revisions, starts runs (quick ones that
end with artifacts while it lives, slow ones still running or queued when it dies), records every id
the API acknowledged and every artifact link, and is killed right after the last acknowledgement.
Every next life must show all of it: the tests and revisions, every run; a run that had ended still
ended with the same result (not run again), one that had not ended re-enqueued and finished; every
artifact link of an ended run still downloading the same bytes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.webapp import WebApp, serve
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
LIVES = 3
TERMINAL = {"passed", "failed", "error", "timed_out", "cancelled"}


@pytest.fixture(scope="module")
def app() -> Iterator[WebApp]:
    with serve() as web:
        yield web


@dataclass
class Acknowledged:
    tests: dict[str, int] = field(default_factory=dict)  # id -> latest revision
    runs: set[str] = field(default_factory=set)
    ended: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> the run as it ended
    links: dict[str, bytes] = field(default_factory=dict)  # artifact url -> its bytes


class Life:
    def __init__(self, data: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOTEST_", "AWS_"))}
        env["AUTOTEST_RUNNER_CONCURRENCY"] = "2"
        (data / "config.json").unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "local", "--port", str(port), "--no-example", "--data-dir", str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 90
        while not (data / "config.json").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(self.output())
            time.sleep(0.05)
        config = json.loads((data / "config.json").read_text())
        self.http = httpx.Client(
            base_url=config["api_url"], headers={"X-API-Key": config["api_key"]}, timeout=30, follow_redirects=False
        )

    def post(self, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
        response = self.http.post(path, json=body)
        assert response.status_code == status, response.text
        data: dict[str, Any] = response.json()
        return data

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def output(self) -> str:
        return self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""

    def close(self) -> None:
        self.http.close()
        self.kill()
        if self.process.stdout:
            self.process.stdout.close()


def api_test(name: str, url: str) -> dict[str, Any]:
    return {"name": name, "kind": "api", "steps": [{"action": "request", "url": url, "expect": [{"status": 200}]}]}


def wait_ended(life: Life, run_ids: set[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    ended: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(ended) < len(run_ids):
        for run_id in run_ids - set(ended):
            run = life.http.get(f"/v1/runs/{run_id}").json()
            if run["status"] in TERMINAL:
                ended[run_id] = run
        time.sleep(0.1)
    return ended


def record_ended(life: Life, acked: Acknowledged, ended: dict[str, dict[str, Any]]) -> None:
    """Keep the ended runs as they ended, and every artifact link of theirs with its bytes."""
    for run_id, run in ended.items():
        acked.ended[run_id] = run
        listed = life.http.get(f"/v1/runs/{run_id}/artifacts").json()["artifacts"]
        assert {"report.html", "junit.xml"} <= {a["name"] for a in listed}
        for artifact in listed:
            got = httpx.get(artifact["url"], timeout=30)
            assert got.status_code == 200
            acked.links[artifact["url"]] = got.content


def check_everything_is_back(life: Life, acked: Acknowledged) -> None:
    for test_id, revision in acked.tests.items():
        test = life.http.get(f"/v1/tests/{test_id}")
        assert test.status_code == 200, f"acknowledged test {test_id} lost: {test.text}"
        assert test.json()["revision"] == revision, f"test {test_id}: revision {revision} lost"
    for run_id in acked.runs:
        run = life.http.get(f"/v1/runs/{run_id}")
        assert run.status_code == 200, f"acknowledged run {run_id} lost: {run.text}"
        before = acked.ended.get(run_id)
        if before is not None:  # ended before the kill: the same result, not run again
            after = run.json()
            kept = ("status", "attempt", "ended_at", "duration_ms", "steps")
            assert {k: after.get(k) for k in kept} == {k: before.get(k) for k in kept}, f"run {run_id} changed"
    for url, data in acked.links.items():
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200, f"artifact link lost ({response.status_code}): {url}"
        assert response.content == data


def test_a_sigkill_right_after_acknowledged_writes_loses_none_of_them(tmp_path: Path, app: WebApp) -> None:
    data, port = tmp_path / "data", free_port()
    acked = Acknowledged()
    for life_number in range(LIVES):
        life = Life(data, port)
        try:
            # Then (from the second life on) everything acknowledged before the last kill is there
            check_everything_is_back(life, acked)
            pending = acked.runs - set(acked.ended)
            finished = wait_ended(life, pending, timeout_s=90)
            assert set(finished) == pending, f"runs not finished after the restart: {pending - set(finished)}"
            assert all(r["status"] == "passed" for r in finished.values()), finished
            record_ended(life, acked, finished)  # their artifacts must survive the next kill too

            # Given a life that writes: tests, revisions, quick runs that end (with artifacts)...
            quick = life.post("/v1/tests", api_test(f"quick {life_number}", f"{app.url}/api/items"), 201)
            acked.tests[quick["id"]] = 1
            spec = {k: v for k, v in api_test("", f"{app.url}/api/items/1").items() if k not in ("name", "kind")}
            revised = life.post(f"/v1/tests/{quick['id']}/revisions", spec, 201)
            acked.tests[quick["id"]] = revised["revision"]
            quick_runs = {life.post("/v1/runs", {"test_id": quick["id"]}, 202)["id"] for _ in range(4)}
            acked.runs |= quick_runs
            ended = wait_ended(life, quick_runs, timeout_s=60)
            assert set(ended) == quick_runs, "quick runs did not end"
            record_ended(life, acked, ended)

            # ...and slow runs still running or queued, then a burst of writes
            slow = life.post("/v1/tests", api_test(f"slow {life_number}", f"{app.url}/slow?ms=1500"), 201)
            acked.tests[slow["id"]] = 1
            acked.runs |= {life.post("/v1/runs", {"test_id": slow["id"]}, 202)["id"] for _ in range(3)}
            time.sleep(0.3)  # the runner takes some: they are running at the kill
            for i in range(15):
                created = life.post("/v1/tests", api_test(f"burst {life_number}.{i}", f"{app.url}/"), 201)
                acked.tests[created["id"]] = 1
            acked.runs.add(life.post("/v1/runs", {"test_id": slow["id"]}, 202)["id"])

            # When it is killed right after the last acknowledgement
            life.kill()
        finally:
            life.close()

    # Then the last life's writes are all there too, and its pending runs finish
    life = Life(data, port)
    try:
        check_everything_is_back(life, acked)
        pending = acked.runs - set(acked.ended)
        finished = wait_ended(life, pending, timeout_s=90)
        assert set(finished) == pending
        assert all(r["status"] == "passed" for r in finished.values()), finished
    finally:
        life.close()
