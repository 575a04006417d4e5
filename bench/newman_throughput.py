"""autotest against Newman: the same Postman collection over the same 200-row data file, side by side.

The collection (``bench/data/orders.postman_collection.json``: sign in, place an order, read it back, read the
stock; status and body checks, the token and the order id extracted and handed on) runs over
``bench/data/orders.rows.json`` (200 rows, 10 of which expect a wrong total) against one loopback orders API
(``bench/orders_api.py``, 10 ms per answer), by

- **Newman** (``newman run COLLECTION -d rows.json``: its CLI, as a team runs it today), and
- **autotest**: the collection imported once with ``autotest import postman`` (what a team switching does),
  then ``autotest run orders.yaml --data rows.json --wait`` against an ``autotest local`` started here (the
  deployment, started once, as the API server is), with the defaults (8 rows at once, no rate limit).

Rounds alternate which tool goes first. Each round checks that both made 800 requests and failed the same 10
rows (else the figures would compare different work). Printed: the median of each, in the run (Newman's own
timings; autotest's run started -> ended) and over the whole command (process start to exit), requests per
second, and the ratios (Newman's time over autotest's: higher is better for autotest).

Newman comes from npm: ``make newman`` installs it into ``.tools/newman`` (this script does too when it is
missing and ``npm`` is there).

    .venv/bin/python -m bench.newman_throughput --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import Result, emit
from bench.orders_api import OrdersServer, serve

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
COLLECTION = DATA / "orders.postman_collection.json"
ROWS = DATA / "orders.rows.json"
NEWMAN_DIR = ROOT / ".tools" / "newman"
NEWMAN_VERSION = "6"


@dataclass(frozen=True)
class Outcome:
    command_s: float  # process start to exit
    run_s: float  # the run itself, by the tool's own clock
    requests: int  # requests the API answered
    failed_rows: tuple[int, ...]  # 0-based


def newman_binary() -> Path:
    binary = NEWMAN_DIR / "node_modules" / ".bin" / "newman"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("Newman is not installed and npm is not on PATH: install Node.js, then `make newman`")
    NEWMAN_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", f"newman@{NEWMAN_VERSION}"], cwd=NEWMAN_DIR, check=True
    )
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def autotest_cli() -> list[str]:
    """The ``autotest`` command a user runs (the virtualenv's console script), else the module."""
    script = Path(sys.executable).with_name("autotest")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


class Local:
    """``autotest local`` in its own process (as a user starts it), on free ports, with its own data dir."""

    def __init__(self, workdir: Path) -> None:
        self.data_dir = workdir / "local"
        self.port = free_port()
        self.env = {**os.environ, "AUTOTEST_CONFIG": str(self.data_dir / "config.json")}
        args = [*autotest_cli(), "local", "--port", str(self.port), "--example-port", str(free_port())]
        self.log = (workdir / "local.log").open("w")
        self.process = subprocess.Popen(
            [*args, "--data-dir", str(self.data_dir)], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while not (self.data_dir / "config.json").exists() or not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"autotest local did not start: see {workdir / 'local.log'}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*autotest_cli(), *args], cwd=ROOT, env=self.env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise SystemExit(f"autotest {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def run_newman(binary: Path, api: OrdersServer, workdir: Path) -> Outcome:
    report = workdir / "newman.json"
    before = api.requests
    args = [str(binary), "run", str(COLLECTION), "-d", str(ROWS), "--env-var", f"baseUrl={api.url}"]
    args += ["-r", "json", "--reporter-json-export", str(report)]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    command_s = time.perf_counter() - started
    if done.returncode not in (0, 1) or not report.exists():  # 1: some assertions failed (10 rows do)
        raise SystemExit(f"newman exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    run = json.loads(report.read_text())["run"]
    failed = {e["cursor"]["iteration"] for e in run["executions"] if any("error" in a for a in e.get("assertions", []))}
    timings = run["timings"]
    run_s = (timings["completed"] - timings["started"]) / 1000
    return Outcome(command_s, run_s, api.requests - before, tuple(sorted(failed)))


def run_autotest(local: Local, test_file: Path, api: OrdersServer) -> Outcome:
    before = api.requests
    args = [*autotest_cli(), "run", str(test_file), "--data", str(ROWS), "--var", f"baseUrl={api.url}"]
    started = time.perf_counter()
    done = subprocess.run([*args, "--wait", "--json"], cwd=ROOT, env=local.env, capture_output=True, text=True)
    command_s = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"autotest run exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    run: dict[str, Any] = json.loads(done.stdout)[0]["run"]
    if len(run["iterations"]) != 200:
        raise SystemExit(f"autotest's run {run['id']} holds {len(run['iterations'])} of 200 rows")
    run_s = (_at(run["ended_at"]) - _at(run["started_at"])).total_seconds()
    failed = tuple(it["index"] for it in run["iterations"] if it["status"] != "passed")
    return Outcome(command_s, run_s, api.requests - before, failed)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def imported(local: Local, workdir: Path) -> Path:
    out = workdir / "imported"
    done = local.cli("import", "postman", str(COLLECTION), "-o", str(out))
    if "0 parts not translated" not in done.stdout:
        raise SystemExit(f"the collection did not translate whole:\n{done.stdout}\n{done.stderr}")
    return out / "orders.yaml"


def main(rounds: int, latency_ms: float) -> None:
    binary = newman_binary()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    rows = len(json.loads(ROWS.read_text()))
    with tempfile.TemporaryDirectory(prefix="bench-newman-") as tmp, serve(latency_ms) as api:
        workdir = Path(tmp)
        local = Local(workdir)
        try:
            test_file = imported(local, workdir)
            run_newman(binary, api, workdir)  # warm up both (the first node start, local mode's first run)
            run_autotest(local, test_file, api)
            results: dict[str, list[Outcome]] = {"Newman": [], "autotest": []}
            for index in range(rounds):
                order = ["Newman", "autotest"] if index % 2 == 0 else ["autotest", "Newman"]
                for name in order:
                    if name == "Newman":
                        results[name].append(run_newman(binary, api, workdir))
                    else:
                        results[name].append(run_autotest(local, test_file, api))
                newman, ours = results["Newman"][-1], results["autotest"][-1]
                # the same rows fail; Newman goes on with a row's requests after a failed check, autotest skips
                # the row's remaining steps (2 of them in each failing row): 800 against 780 requests
                skipped = 2 * len(ours.failed_rows)
                if newman.failed_rows != ours.failed_rows or ours.requests != newman.requests - skipped:
                    raise SystemExit(
                        f"round {index + 1}: not the same work: Newman {newman.requests} requests, failed rows "
                        f"{newman.failed_rows}; autotest {ours.requests}, {ours.failed_rows}"
                    )
        finally:
            local.stop()
    failed = len(results["Newman"][0].failed_rows)
    print(
        f"{rows} rows x 4 requests, {failed} rows failing in both; API latency {latency_ms:g} ms; Newman {version}; "
        f"{rounds} alternating rounds, medians; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':10} {'requests':>8} {'in the run':>11} {'req/s':>7} {'whole command':>14} {'req/s':>7}")
    rates: dict[str, tuple[float, float]] = {}
    for name, outcomes in results.items():
        requests = outcomes[0].requests
        run_s = statistics.median(o.run_s for o in outcomes)
        command_s = statistics.median(o.command_s for o in outcomes)
        rates[name] = (requests / run_s, requests / command_s)
        print(
            f"{name:10} {requests:8} {run_s:10.2f}s {requests / run_s:7.0f} {command_s:13.2f}s "
            f"{requests / command_s:7.0f}"
        )
    (peer_run, peer_command), (ours_run, ours_command) = rates["Newman"], rates["autotest"]
    print(f"{'ratio':10} {'':8} {ours_run / peer_run:10.2f}x {'':7} {ours_command / peer_command:13.2f}x", end="")
    print("   (autotest's requests per second over Newman's)")
    for where, peer_rate, ours_rate in (
        ("in the run", peer_run, ours_run),
        ("whole command", peer_command, ours_command),
    ):
        ratio = ours_rate / peer_rate
        emit(
            Result(
                bench="newman_throughput",
                work=f"{rows} dataset rows x 4 requests, {failed} failing, requests per second ({where})",
                peer=f"Newman {version}",
                peer_value=round(peer_rate, 1),
                autotest_value=round(ours_rate, 1),
                unit="req/s",
                rounds=rounds,
                ratio=round(ratio, 2),
                target=">= 5x",
                met=ratio >= 5,
                higher_is_better=True,
                notes=f"API latency {latency_ms:g} ms per answer",
            )
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=10.0, help="how long the orders API takes per answer")
    options = parser.parse_args()
    main(options.rounds, options.latency_ms)
