"""Ctrl-C in the terminal (SIGINT to the whole foreground process group) lets the running browser tests of
``autotest local`` finish: it reaches autotest alone, which drains, not Playwright's driver or Chromium."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.local.mode import LocalModeThread, LocalOptions
from runner_container.runner.browser import BrowserPool
from tests.e2e.pages import serve_pages

pytestmark = pytest.mark.e2e

AUTOTEST = [sys.executable, "-c", "from cli.main import main; main()"]
#: one step waits long enough for the signal to arrive while the browser is in use
STEPS: list[dict[str, Any]] = [
    {"action": "goto", "url": "{{base_url}}/page"},
    {"action": "wait_for", "ms": 3000},
    {"action": "expect_text", "text": "Still here"},
    {"action": "screenshot"},
]


def wait_for_config(data_dir: Path, proc: subprocess.Popen[bytes], timeout_s: float = 90) -> dict[str, Any]:
    config = data_dir / "config.json"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"autotest local exited with {proc.returncode} while starting")
        if config.is_file():
            try:
                return dict(json.loads(config.read_text()))
            except ValueError:
                pass  # being written
        time.sleep(0.1)
    raise AssertionError("autotest local did not start in time")


def poll(client: httpx.Client, run_id: str, until: Any, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = client.get(f"/v1/runs/{run_id}").json()
        if until(run):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never got there: {run}")


def test_ctrl_c_lets_a_running_browser_test_finish(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOTEST_", "AWS_"))}
    env["AUTOTEST_SECRETS_KEY_FILE"] = os.environ["AUTOTEST_SECRETS_KEY_FILE"]  # the tests' key, not ~/.config's
    with serve_pages({"/page": (200, "<h1>Still here</h1>")}) as base_url:
        # Given autotest local in a process group of its own, as a shell starts a foreground job
        proc = subprocess.Popen(
            [*AUTOTEST, "local", "--port", "0", "--aws-port", "0", "--no-example", "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            config = wait_for_config(data_dir, proc)
            headers = {"Authorization": f"Bearer {config['api_key']}"}
            with httpx.Client(base_url=config["api_url"], headers=headers, timeout=10) as client:
                body = {"spec": {"name": "slow page", "steps": STEPS, "variables": {"base_url": base_url}}}
                created = client.post("/v1/runs", json=body)
                assert created.status_code == 202, created.text
                run_id = created.json()["id"]
                poll(client, run_id, lambda r: r["status"] == "running" and r["steps"], timeout_s=90)

                # When the terminal's Ctrl-C reaches the whole process group while the browser test runs
                os.killpg(proc.pid, signal.SIGINT)

                # Then the API keeps serving while the run goes on (not cut short: it is running, or passed)
                seen = poll(client, run_id, lambda r: r["status"] != "running" or len(r["steps"]) >= 2)
                assert seen["status"] in ("running", "passed"), seen
            # and autotest exits 0 promptly once it is done
            output, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "stopping: waiting for running tests to finish" in text and "state saved" in text

    # The run passed: read it back from the data directory
    restarted = LocalModeThread(LocalOptions(port=0, example_port=None, data_dir=data_dir, workers={}))
    info = restarted.start()
    try:
        run = httpx.get(f"{info.api_url}/v1/runs/{run_id}", headers={"X-API-Key": info.api_key}).json()
    finally:
        restarted.stop()
    assert run["status"] == "passed", run
    assert [s["status"] for s in run["steps"]] == ["passed"] * len(STEPS)


def test_a_second_ctrl_c_leaves_the_running_test_to_run_again_not_failed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOTEST_", "AWS_"))}
    env["AUTOTEST_SECRETS_KEY_FILE"] = os.environ["AUTOTEST_SECRETS_KEY_FILE"]
    with serve_pages({"/page": (200, "<h1>Still here</h1>")}) as base_url:
        proc = subprocess.Popen(
            [*AUTOTEST, "local", "--port", "0", "--no-example", "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            config = wait_for_config(data_dir, proc)
            headers = {"Authorization": f"Bearer {config['api_key']}"}
            with httpx.Client(base_url=config["api_url"], headers=headers, timeout=10) as client:
                body = {"spec": {"name": "slow page", "steps": STEPS, "variables": {"base_url": base_url}}}
                run_id = client.post("/v1/runs", json=body).json()["id"]
                poll(client, run_id, lambda r: r["status"] == "running" and r["steps"], timeout_s=90)

                # When Ctrl-C comes twice while the browser test runs: stop at once
                os.killpg(proc.pid, signal.SIGINT)
                time.sleep(0.5)
                os.killpg(proc.pid, signal.SIGINT)
            output, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

        # Then the run was not ended on what the stop did to its browser: after a restart it runs again, as its
        # next attempt (an interruption, no retry used), and passes
        restarted = LocalModeThread(LocalOptions(port=0, example_port=None, data_dir=data_dir))
        info = restarted.start()
        try:
            with httpx.Client(base_url=info.api_url, headers={"X-API-Key": info.api_key}, timeout=10) as client:
                run = poll(client, run_id, lambda r: r["status"] not in ("queued", "running"), timeout_s=90)
        finally:
            restarted.stop()
    text = output.decode(errors="replace")
    assert run["status"] == "passed", (run, text)
    assert run["attempt"] == 2 and len(run["interruptions"]) == 1 and not run["flaky"], run
    assert [s["status"] for s in run["steps"]] == ["passed"] * len(STEPS)


def descendants(pid: int) -> list[tuple[int, int, int, str]]:
    """(pid, process group, session, command line) of every process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    info: dict[int, tuple[int, int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        ppid, pgrp, session = int(fields[1]), int(fields[2]), int(fields[3])
        children.setdefault(ppid, []).append(int(entry.name))
        info[int(entry.name)] = (pgrp, session, cmdline)
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append((child, *info[child]))
        todo += children.get(child, [])
    return found


@pytest.mark.asyncio(loop_scope="session")
async def test_the_driver_and_the_browser_are_out_of_reach_of_the_terminals_signals(pool: BrowserPool) -> None:
    # Given the session's browser pool, its browser launched
    await pool.browser()

    # Then Playwright's driver runs in a session of its own, and so does everything it started
    below = descendants(os.getpid())
    drivers = [p for p in below if "run-driver" in p[3]]
    browsers = [p for p in below if "chrom" in p[3].split(" ", 1)[0].lower()]
    assert drivers and browsers, below
    # (the pool's processes only: other children of this process, jsii's Node.js kernel that importing the CDK
    # starts for tests/infra, are not the runner's)
    ours = [*drivers, *(p for driver in drivers for p in descendants(driver[0]))]
    assert {p[0] for p in browsers} <= {p[0] for p in ours}, below
    assert all(session != os.getsid(0) for _, _, session, _ in ours), ours
    assert all(group != os.getpgrp() for _, group, _, _ in ours), ours
