"""40 browser tests, end to end on this machine: a pytest-playwright suite with ``pytest -n 2`` against ``autotest
run DIR --wait`` on a running ``autotest local``.

The work: the example app's four browser flows (log in; fill the preferences form; remove an item from the
shopping list and take a screenshot; wait for a delayed button and click it), ten variations of each (the colour
and size chosen, the item removed, the delay), 40 tests, against one copy of the example app served by this
process on loopback. Both sides run the same Chromium (``find_browser()``: Playwright's where installed, else
Debian's ``chromium-headless-shell``) with the runner's launch arguments, a fresh context per test.

- **peer**: what a team writes by hand. A generated pytest file (four parametrized test functions, the Playwright
  sync API through pytest-playwright's ``page`` fixture; a ``browser_type_launch_args`` override names the browser
  and its arguments) run with ``pytest -n 2`` (pytest-xdist: two worker processes, a browser each), artifacts off,
  then with ``--tracing on --video on --screenshot on``.
- **autotest**: the same 40 tests as 40 YAML files in a directory, ``autotest run DIR --wait --quiet --junit``, what
  a CI job does, against an ``autotest local`` started beforehand (the deployment, as a CI job finds it) with its
  defaults (``--concurrency`` 2) and a warm browser (kept open: ``AUTOTEST_BROWSER_IDLE_CLOSE_S=0``): one with
  every artifact off, one with the defaults (a screenshot per step, video, trace, report).

Wall time: the command's start to its exit, every result in (both write JUnit XML; 40 passed is checked, else the
round fails). Rounds alternate which side goes first; medians. Target: autotest's wall time at most 0.75x pytest's
(with the same artifacts off; with autotest's default artifacts against pytest's trace, video and screenshot).
Besides the walls, autotest's runs (from its JSON) show how many ran at once and where a run's time went: queued
(created -> started) and executing (started -> ended).

    .venv/bin/python -m bench.suite_throughput --rounds 3
    .venv/bin/python -m bench.suite_throughput --rounds 1 --concurrency 2 --concurrency 4   # local mode's setting
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import yaml

from bench.common import Result, emit, machine, ratio_of
from bench.newman_throughput import autotest_cli, free_port
from examples.webapp import ADMIN_PASSWORD, serve
from runner_container.runner.browser import LAUNCH_ARGS, find_browser

ROOT = Path(__file__).resolve().parents[1]
TESTS = 40
TARGET = 0.75
COLORS = ("red", "green", "blue")
SIZES = ("small", "medium", "large")


@dataclass(frozen=True)
class Case:
    """One of the 40 tests: a flow and its variation."""

    flow: str  # login | preferences | shopping | delayed
    index: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.flow}-{self.index:02d}"


def cases(count: int = TESTS) -> list[Case]:
    """``count`` tests, the four flows in turn, each with its own variation."""
    flows = ("login", "preferences", "shopping", "delayed")
    out = []
    for i in range(count):
        flow, k = flows[i % 4], i // 4
        params: dict[str, Any] = {}
        if flow == "preferences":
            params = {"color": COLORS[k % 3], "size": SIZES[(k // 3) % 3]}
        elif flow == "shopping":
            params = {"item": 2 + k % 2}  # Bread or Cheese (item 1 is read afterwards)
        elif flow == "delayed":
            params = {"ms": 200 + 50 * (k % 10)}
        out.append(Case(flow, i, params))
    return out


# ----------------------------------------------------------------------------------------------- autotest's side


def autotest_steps(case: Case) -> list[dict[str, Any]]:
    """The test as an autotest step plan (the example tests' steps, with the case's variation)."""
    p = case.params
    if case.flow == "login":
        return [
            {"action": "goto", "url": "{{base_url}}/login"},
            {"action": "expect_title", "text": "Log in"},
            {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
            {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
            {"action": "click", "target": {"role": "button", "name": "Log in"}},
            {"action": "expect_url", "pattern": "/welcome"},
            {"action": "expect_text", "text": "Welcome, admin"},
        ]
    if case.flow == "preferences":
        return [
            {"action": "goto", "url": "{{base_url}}/form"},
            {"action": "select", "target": {"label": "Favourite color"}, "value": p["color"]},
            {"action": "check", "target": {"label": "Subscribe to the newsletter"}},
            {"action": "check", "target": {"role": "radio", "name": p["size"].capitalize()}},
            {"action": "fill", "target": {"placeholder": "Anything else?"}, "value": "Deliver after 6pm"},
            {"action": "click", "target": {"role": "button", "name": "Save preferences"}},
            {
                "action": "expect_text",
                "target": {"css": "#summary"},
                "text": f"color: {p['color']}, newsletter: yes, size: {p['size']}",
            },
        ]
    if case.flow == "shopping":
        return [
            {"action": "goto", "url": "{{base_url}}/list"},
            {"action": "expect_text", "target": {"role": "list", "name": "Items"}, "text": "Bread"},
            {"action": "click", "target": {"css": f"[data-testid=item-{p['item']}] button"}},
            {"action": "expect_text", "target": {"css": "#count"}, "text": "2"},
            {"action": "extract", "target": {"test_id": "item-1"}, "var": "first_item"},
            {"action": "screenshot", "name": "list-after-remove"},
        ]
    return [
        {"action": "goto", "url": "{{base_url}}/delayed?ms=" + str(p["ms"])},
        {"action": "wait_for", "target": {"role": "button", "name": "Continue"}},
        {"action": "click", "target": {"role": "button", "name": "Continue"}},
        {"action": "expect_text", "target": {"role": "status"}, "text": "Done"},
    ]


def write_autotest_suite(directory: Path, base_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for case in cases():
        test = {"name": case.name, "variables": {"base_url": base_url}, "steps": autotest_steps(case)}
        (directory / f"{case.name}.yaml").write_text(yaml.safe_dump(test, sort_keys=False))
    return directory


# ------------------------------------------------------------------------------------------------- pytest's side

PYTEST_TESTS = '''\
"""The 40 tests as a team writes them with pytest-playwright (generated by bench/suite_throughput.py)."""

import re

import pytest
from playwright.sync_api import Page, expect

BASE_URL = {base_url!r}
PASSWORD = {password!r}
CASES = {cases!r}


@pytest.mark.parametrize("index", CASES["login"])
def test_login(page: Page, index: int) -> None:
    page.goto(f"{{BASE_URL}}/login")
    expect(page).to_have_title("Log in")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile("/welcome"))
    expect(page.get_by_text("Welcome, admin")).to_be_visible()


@pytest.mark.parametrize("color,size", CASES["preferences"])
def test_preferences(page: Page, color: str, size: str) -> None:
    page.goto(f"{{BASE_URL}}/form")
    page.get_by_label("Favourite color").select_option(color)
    page.get_by_label("Subscribe to the newsletter").check()
    page.get_by_role("radio", name=size.capitalize()).check()
    page.get_by_placeholder("Anything else?").fill("Deliver after 6pm")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("#summary")).to_contain_text(f"color: {{color}}, newsletter: yes, size: {{size}}")


@pytest.mark.parametrize("item", CASES["shopping"])
def test_shopping(page: Page, item: int, tmp_path) -> None:
    page.goto(f"{{BASE_URL}}/list")
    expect(page.get_by_role("list", name="Items")).to_contain_text("Bread")
    page.locator(f"[data-testid=item-{{item}}] button").click()
    expect(page.locator("#count")).to_contain_text("2")
    assert page.get_by_test_id("item-1").inner_text()
    page.screenshot(path=tmp_path / "list-after-remove.png")


@pytest.mark.parametrize("ms", CASES["delayed"])
def test_delayed(page: Page, ms: int) -> None:
    page.goto(f"{{BASE_URL}}/delayed?ms={{ms}}")
    page.get_by_role("button", name="Continue").wait_for()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("status")).to_contain_text("Done")
'''

PYTEST_CONFTEST = '''\
"""pytest-playwright on the bench's Chromium with the runner's launch arguments."""

import pytest


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {{**browser_type_launch_args, "executable_path": {executable!r}, "args": {args!r}}}
'''


def write_pytest_suite(directory: Path, base_url: str, executable: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    by_flow: dict[str, list[Any]] = {"login": [], "preferences": [], "shopping": [], "delayed": []}
    for case in cases():
        p = case.params
        by_flow[case.flow].append(
            {"login": case.index, "preferences": (p.get("color"), p.get("size")), "shopping": p.get("item"),
             "delayed": p.get("ms")}[case.flow]
        )  # fmt: skip
    source = PYTEST_TESTS.format(base_url=base_url, password=ADMIN_PASSWORD, cases=by_flow)
    (directory / "test_suite.py").write_text(source)
    (directory / "conftest.py").write_text(PYTEST_CONFTEST.format(executable=executable, args=list(LAUNCH_ARGS)))
    # its own ini file: the project's pytest settings (which turn pytest-playwright off) are not the suite's
    (directory / "pytest.ini").write_text("[pytest]\n")
    return directory


# ----------------------------------------------------------------------------------------------------- running


def junit_counts(path: Path) -> tuple[int, int]:
    """(tests, not passed) of a JUnit XML file (pytest's: one <testsuite>; autotest's: <testsuites>)."""
    root = ET.parse(path).getroot()  # noqa: S314 - written by the two commands here
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) + int(s.get("skipped", 0)) for s in suites)
    return tests, bad


def run_pytest(directory: Path, *, artifacts: bool, workers: int = 2) -> float:
    junit = directory / "junit.xml"
    junit.unlink(missing_ok=True)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "playwright", "-p", "no:cacheprovider", "-n", str(workers)]
    args += ["-c", str(directory / "pytest.ini"), "--rootdir", str(directory), f"--junitxml={junit}"]
    if artifacts:
        args += ["--tracing", "on", "--video", "on", "--screenshot", "on", "--output", str(directory / "results")]
    started = time.perf_counter()
    done = subprocess.run([*args, str(directory / "test_suite.py")], cwd=directory, capture_output=True, text=True)
    wall = time.perf_counter() - started
    tests, bad = junit_counts(junit) if junit.exists() else (0, 0)
    if done.returncode != 0 or tests != TESTS or bad:
        raise SystemExit(f"pytest: exit {done.returncode}, {tests} tests, {bad} not passed:\n{done.stdout[-3000:]}")
    return wall


@dataclass
class AutotestRound:
    wall_s: float
    runs: list[dict[str, Any]]
    #: CPU seconds of local mode's own process (API, moto, runner: one GIL) during the command
    local_cpu_s: float = 0.0

    def phases(self) -> dict[str, float]:
        """Medians of each run's queued and executing seconds, and the most runs executing at once."""
        queued = [(_at(r["started_at"]) - _at(r["created_at"])).total_seconds() for r in self.runs]
        executing = [(_at(r["ended_at"]) - _at(r["started_at"])).total_seconds() for r in self.runs]
        steps = [sum(s.get("duration_ms") or 0 for s in r.get("steps") or []) / 1000 for r in self.runs]
        first = min(_at(r["created_at"]) for r in self.runs)
        last = max(_at(r["ended_at"]) for r in self.runs)
        return {
            "queued_p50_s": statistics.median(queued),
            "executing_p50_s": statistics.median(executing),
            "steps_p50_s": statistics.median(steps),  # the steps' own durations, of a run's executing time
            "executing_sum_s": sum(executing),
            "first_created_to_last_ended_s": (last - first).total_seconds(),
            "most_at_once": float(most_at_once(self.runs)),
            "local_cpu_s": self.local_cpu_s,
        }


def most_at_once(runs: list[dict[str, Any]]) -> int:
    """The most runs between started and ended at one moment."""
    edges = sorted([(_at(r["started_at"]), 1) for r in runs] + [(_at(r["ended_at"]), -1) for r in runs])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Local:
    """``autotest local`` in its own process (the deployment a CI job talks to), on free ports, its own data dir,
    this checkout's code (``PYTHONPATH``), artifacts on or off by its settings."""

    def __init__(self, workdir: Path, *, artifacts: bool, concurrency: int | None = None) -> None:
        self.data_dir = workdir / "local"
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "AUTOTEST_SECRET_ADMIN_PASSWORD": ADMIN_PASSWORD}
        # a deployment in use, its browser warm: the other sides' rounds in between can pass the minute after
        # which an idle runner closes its browser (AUTOTEST_BROWSER_IDLE_CLOSE_S)
        env["AUTOTEST_BROWSER_IDLE_CLOSE_S"] = "0"
        if not artifacts:
            env.update(AUTOTEST_SCREENSHOTS="off", AUTOTEST_RECORD_VIDEO="false", AUTOTEST_RECORD_TRACE="false")
        self.env = {**env, "AUTOTEST_CONFIG": str(self.data_dir / "config.json")}
        args = [*autotest_cli(), "local", "--port", str(self.port), "--no-example", "--data-dir", str(self.data_dir)]
        if concurrency is not None:
            args += ["--concurrency", str(concurrency)]
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "local.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not (self.data_dir / "config.json").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"autotest local did not start: see {self.log_path}")
            time.sleep(0.2)
        time.sleep(1.0)

    def run(self, directory: Path) -> AutotestRound:
        junit = directory.parent / f"{directory.name}.junit.xml"
        junit.unlink(missing_ok=True)
        args = [*autotest_cli(), "run", str(directory), "--wait", "--quiet", "--json", "--junit", str(junit)]
        own = self.cpu()
        started = time.perf_counter()
        done = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        own_after = self.cpu()
        tests, bad = junit_counts(junit) if junit.exists() else (0, 0)
        if done.returncode != 0 or tests != len(list(directory.glob("*.yaml"))) or bad:
            raise SystemExit(
                f"autotest run: exit {done.returncode}, {tests} tests, {bad} not passed:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        runs = [item["run"] for item in json.loads(done.stdout)]
        return AutotestRound(wall, runs, own_after - own)

    def cpu(self) -> float:
        """CPU seconds so far of local mode's own process (not the browsers': their renderers come and go)."""
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# -------------------------------------------------------------------------------------------------------- main


@dataclass
class Side:
    label: str
    walls: list[float] = field(default_factory=list)
    rounds: list[AutotestRound] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


def main(rounds: int, concurrencies: list[int | None]) -> None:
    executable = str(find_browser())
    print(f"{TESTS} browser tests; Chromium {executable}; {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp, serve() as app:
        work = Path(tmp)
        suite = write_autotest_suite(work / "autotest-tests", app.url)
        warm = write_autotest_suite(work / "warm", app.url)
        for extra in sorted(warm.glob("*.yaml"))[4:]:
            extra.unlink()  # one of each flow warms local mode up
        pytest_dir = write_pytest_suite(work / "pytest-suite", app.url, executable)
        locals_: dict[str, Local] = {}
        sides: dict[str, Side] = {}
        try:
            for artifacts in (False, True):
                for conc in concurrencies:
                    key = f"autotest {'default artifacts' if artifacts else 'artifacts off'}"
                    key += f", concurrency {conc}" if conc is not None and len(concurrencies) > 1 else ""
                    local = Local(work / key.replace(" ", "_").replace(",", ""), artifacts=artifacts, concurrency=conc)
                    locals_[key] = local
                    local.run(warm)  # the browser launched, the first context and page made
                    sides[key] = Side(key)
                sides[f"pytest -n 2{', trace/video/screenshot' if artifacts else ''}"] = Side("pytest")
            run_pytest(pytest_dir, artifacts=False)  # warm up: imports, the page cache
            for index in range(rounds):
                order = list(sides) if index % 2 == 0 else list(reversed(sides))
                for key in order:
                    artifacts = "artifacts" in key or "trace" in key
                    if key.startswith("pytest"):
                        sides[key].walls.append(run_pytest(pytest_dir, artifacts="trace" in key))
                    else:
                        outcome = locals_[key].run(suite)
                        sides[key].walls.append(outcome.wall_s)
                        sides[key].rounds.append(outcome)
                    print(f"  round {index + 1}: {key:52} {sides[key].walls[-1]:6.2f} s", flush=True)
        finally:
            for local in locals_.values():
                local.stop()

    print(f"\n{rounds} alternating rounds, medians; load average now {os.getloadavg()[0]:.1f}")
    print(f"{'side':52} {'wall s':>7} {'queued p50':>11} {'run p50':>8} {'at once':>8}")
    for key, side in sides.items():
        line = f"{key:52} {side.median:7.2f}"
        if side.rounds:
            ph = side.rounds[-1].phases()
            line += f" {ph['queued_p50_s']:10.2f}s {ph['executing_p50_s']:7.2f}s {ph['most_at_once']:8.0f}"
        print(line)
    peer_off, peer_on = sides["pytest -n 2"], sides["pytest -n 2, trace/video/screenshot"]
    for key, side in sides.items():
        if key.startswith("pytest"):
            continue
        artifacts = "default artifacts" in key
        peer = peer_on if artifacts else peer_off
        ratio = ratio_of(side.median, peer.median)
        phases = side.rounds[-1].phases()
        met = ratio <= TARGET
        notes = "" if met else notes_for(phases, side.median, peer.median)
        emit(
            Result(
                bench="suite_throughput",
                work=f"{TESTS} browser tests, wall, {'default artifacts' if artifacts else 'artifacts off'}"
                + (key.split(",", 1)[1] if key.count(",") else ""),
                peer=f"pytest -n 2 (pytest-playwright{', --tracing/--video/--screenshot on' if artifacts else ''})",
                peer_value=round(peer.median, 2),
                autotest_value=round(side.median, 2),
                unit="s",
                rounds=rounds,
                ratio=round(ratio, 2),
                target=f"<= {TARGET:.2f}x",
                met=met,
                notes=notes,
                extra={k: round(v, 2) for k, v in phases.items()},
            )
        )


def notes_for(phases: dict[str, float], ours: float, peer: float) -> str:
    return (
        f"local mode's one process (API, moto, runner under one GIL) used {phases['local_cpu_s']:.1f} CPU-s in the "
        f"{ours:.1f} s; {phases['most_at_once']:.0f} runs "
        f"at once (--concurrency), each {phases['executing_p50_s']:.2f} s p50 started -> ended of which "
        f"{phases['steps_p50_s']:.2f} s steps; a run waited {phases['queued_p50_s']:.1f} s p50 in the queue"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--concurrency",
        type=int,
        action="append",
        help="local mode's --concurrency (repeatable: one local mode each; default: its own default)",
    )
    options = parser.parse_args()
    main(options.rounds, options.concurrency or [None])
