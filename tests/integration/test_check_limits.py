"""A response check that overruns its step stops when the step fails: the CPU it burned stops rising within
about a second, and another run's checks, beside it, are not held up by it."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psutil
import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import RunExecutor
from tests.conftest import BOOTSTRAP_KEY, FakeServices

ADMIN = {"Authorization": f"Bearer {BOOTSTRAP_KEY}"}
#: its DFA never fits RE2's cache: RE2 takes about 5 s of CPU per MB of a/b text to find no match
SLOW_PATTERN = "[ab]*a[ab]{999}c"
BODY = random.Random(7).randbytes(1_000_000).translate(bytes(b"ab"[i & 1] for i in range(256)))


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = BODY if self.path == "/ab.html" else b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _cpu_by_process() -> dict[int, float]:
    """CPU seconds of this process and of each of its descendants (the checks' workers among them)."""
    me = psutil.Process()
    seconds: dict[int, float] = {}
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def _cpu_rise(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two samples by the processes alive at the second (one that ended spends no more)."""
    return sum(spent - before.get(pid, 0.0) for pid, spent in after.items())


async def test_a_check_that_overruns_its_step_stops_at_once_and_holds_no_other_run_up(
    fakes: FakeServices, server_url: str
) -> None:
    # Given a runner, and a run whose one step gives itself 0.5 s to check a 1 MB body with a pattern RE2
    # needs seconds for (no "c": it never matches), and a run of quick checks
    executor = RunExecutor(
        runs=fakes.services.runs,
        artifacts=fakes.artifacts,
        secrets=fakes.services.secrets,
        pool=BrowserPool(),  # API runs never launch it
        config=RunnerConfig(network_allowlist="127.0.0.0/8", retry_delay_s=0, upload_backoff_s=0.01),
    )
    api = TestClient(create_app(fakes.services))
    slow_step = {"action": "request", "url": f"{server_url}/ab.html", "timeout_s": 0.5}
    slow = {"name": "slow", "steps": [{**slow_step, "expect": [{"body_matches": SLOW_PATTERN}]}]}
    quick_steps = [
        {"action": "request", "url": f"{server_url}/ok", "expect": [{"status": 200}, {"body_matches": '"ok"'}]}
    ] * 3
    quick = {"name": "quick", "steps": quick_steps}
    messages = []
    for spec in (slow, quick):
        started = api.post("/v1/runs", json={"spec": spec}, headers=ADMIN)
        assert started.status_code == 202, started.text
        messages.append(fakes.queue.sent.pop()[0])

    try:
        # When both run at once, the quick one starting while the slow one is being checked
        async def quick_run() -> float:
            await asyncio.sleep(0.3)
            began = time.monotonic()
            await executor.execute(messages[1])
            return time.monotonic() - began

        began = time.monotonic()
        _, quick_s = await asyncio.gather(executor.execute(messages[0]), quick_run())
        failed_after = time.monotonic() - began
        await asyncio.sleep(0.5)  # the step failed; give the stopping half a second
        before = _cpu_by_process()
        await asyncio.sleep(1.5)
        rise = _cpu_rise(before, _cpu_by_process())
    finally:
        executor.close()

    # Then the slow run fails on its step's time, saying the check was stopped and where it was
    slow_run = fakes.services.runs.get_run("default", messages[0].run_id)
    assert slow_run.status == "failed", slow_run.error
    error = slow_run.steps[0].error or ""
    assert "still being checked when the step's time ran out" in error, error
    assert f'stopped at expectation 1 of 1 {{"body_matches": "{SLOW_PATTERN}"}}, on a body of 1.0 MB' in error, error
    assert failed_after < 5, failed_after
    # and the CPU it burned stopped rising: the process and its workers are idle from then on
    assert rise < 0.3, f"{rise:.2f} s of CPU in the 1.5 s after the step had failed"
    # and the quick run, checked beside it, passed at once
    quick_run_ = fakes.services.runs.get_run("default", messages[1].run_id)
    assert quick_run_.status == "passed", quick_run_.error
    assert quick_s < 2.0, quick_s
