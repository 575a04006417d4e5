"""How soon ``autotest local`` starts and finishes a run it is given: submit -> running, submit -> result.

Against one ``autotest local`` started here (its own process and data directory, no example app, default
settings: 2 runs at a time, default artifacts), the bench submits, one after another (submit, wait until it
ended, next), two kinds of run, alternating so that load falls on both alike:

- **API**: an inline API test of one ``request`` step (``GET /ping`` on a loopback server this bench starts,
  status 200 checked);
- **browser**: an inline browser test of one ``goto`` (a loopback page of the same server) and one
  ``expect_text``.

How it is timed (one machine, one clock): the client takes ``time.time()`` just before it sends
``POST /v1/runs``. **submit -> running** is the run's own ``started_at`` (written by the runner when it takes
the run off the queue: the queued -> running transition) less that time: the moment the run truly started,
not when a client happened to look. **submit -> result** is when the client holds the result: right after the
POST it follows the run's server-sent events (``GET /v1/runs/{id}/events``, what ``autotest run --wait`` does)
and the time is taken when the stream ends (the run ended); the run is then read back and must have passed.
The run's own ``ended_at`` less the submit time is printed beside it (``recorded``), and so is how long the
POST itself took. A few runs of each kind go first as warm-up (the first browser launch) and are not counted.

Printed: p50 and p95 of each figure for each kind. Target: submit -> running p50 <= 100 ms.

    .venv/bin/python -m bench.latency --runs 100
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import Result, emit, machine, percentile
from bench.local_process import ROOT, LocalProcess, page_server

TARGET_RUNNING_MS = 100.0
WARMUP = 3
#: longer than local mode's runner long-poll (``cli/local/runner.py``): the poll in wait has come back empty
IDLE_PAUSE_S = 2.0
KINDS = ("API", "browser")


def api_spec(base_url: str) -> dict[str, Any]:
    return {
        "name": "bench latency: one GET",
        "kind": "api",
        "steps": [{"action": "request", "url": f"{base_url}/ping", "expect": [{"status": 200}]}],
    }


def browser_spec(base_url: str) -> dict[str, Any]:
    return {
        "name": "bench latency: one page",
        "steps": [{"action": "goto", "url": f"{base_url}/page"}, {"action": "expect_text", "text": "Ready"}],
    }


@dataclass(frozen=True)
class Timing:
    post_ms: float  # the POST's own round trip
    running_ms: float  # submit -> the run's started_at
    result_ms: float  # submit -> the client saw the run end (its event stream ended)
    recorded_ms: float  # submit -> the run's ended_at
    queued_ms: float  # the run's created_at -> its started_at (the queue hand-off and the take, server-side)
    seen_running_ms: float | None  # submit -> the client read the status event ``running`` (None: it did not)


def at(text: str) -> float:
    """An API timestamp as seconds since the epoch."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def follow(http: httpx.Client, run_id: str) -> float | None:
    """Read the run's server-sent events until the server ends the stream (it does when the run ends); returns
    when the ``status`` event saying ``running`` arrived (None: the stream opened after it, and the run's state
    it starts with was already past running)."""
    seen_running = None
    event = ""
    with http.stream("GET", f"/v1/runs/{run_id}/events", headers={"Accept": "text/event-stream"}) as response:
        if response.status_code != 200:
            raise SystemExit(f"GET /v1/runs/{run_id}/events answered {response.status_code}")
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event == "status" and seen_running is None:
                seen_running = time.time() if json.loads(line.partition(":")[2]).get("status") == "running" else None
    return seen_running


def one(local: LocalProcess, spec: dict[str, Any]) -> Timing:
    submitted = time.time()
    run = local.submit(spec)
    posted = time.time()
    seen_running = follow(local.http, run["id"])
    seen_end = time.time()
    run = local.run(run["id"])
    if run["status"] != "passed":
        raise SystemExit(f"run {run['id']} ended {run['status']}: {json.dumps(run.get('error'))}")
    return Timing(
        post_ms=(posted - submitted) * 1000,
        running_ms=(at(run["started_at"]) - submitted) * 1000,
        result_ms=(seen_end - submitted) * 1000,
        recorded_ms=(at(run["ended_at"]) - submitted) * 1000,
        queued_ms=(at(run["started_at"]) - at(run["created_at"])) * 1000,
        seen_running_ms=None if seen_running is None else (seen_running - submitted) * 1000,
    )


def main(runs: int, *, idle_runs: int = 0, against: Path | None = None) -> None:
    sides = ["this checkout", f"{against}"] if against is not None else ["this checkout"]
    timings: dict[tuple[str, str], list[Timing]] = {}
    rng = random.Random(13)
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp, page_server() as base_url:
        specs = {"API": api_spec(base_url), "browser": browser_spec(base_url)}
        locals_: dict[str, LocalProcess] = {}
        try:
            for index, side in enumerate(sides):
                locals_[side] = LocalProcess(Path(tmp) / str(index), root=against if index and against else ROOT)
            for _ in range(WARMUP):
                for kind in KINDS:
                    for local in locals_.values():
                        one(local, specs[kind])
            load_before = os.getloadavg()[0]
            for index in range(runs):
                for kind in KINDS if index % 2 == 0 else KINDS[::-1]:
                    for side in sides if index % 2 == 0 else sides[::-1]:
                        timings.setdefault((side, kind), []).append(one(locals_[side], specs[kind]))
            for index in range(idle_runs):  # a run submitted to a local mode that has been idle a while
                for side in sides if index % 2 == 0 else sides[::-1]:
                    time.sleep(rng.uniform(IDLE_PAUSE_S, IDLE_PAUSE_S + 2.5))
                    timings.setdefault((side, "API after idle"), []).append(one(locals_[side], specs["API"]))
        except BaseException:
            for side, local in locals_.items():
                print(f"--- the end of {side}'s autotest local log ---\n{local.log_tail()}", file=sys.stderr)
            raise
        finally:
            for local in locals_.values():
                local.stop()
    report(timings, runs, idle_runs, load_before)


FIGURES = ("post_ms", "queued_ms", "running_ms", "seen_running_ms", "result_ms", "recorded_ms")
HEADINGS = ("POST", "queued->started", "submit->running", "(seen running)", "submit->result", "(recorded end)")


def figures(values: list[Timing]) -> dict[str, tuple[float, float]]:
    """Each figure's (p50, p95) in ms, over the runs that have it."""
    out = {}
    for name in FIGURES:
        series = [v for v in (getattr(t, name) for t in values) if v is not None]
        if series:
            out[name] = (percentile(series, 50), percentile(series, 95))
    return out


def report(timings: dict[tuple[str, str], list[Timing]], runs: int, idle_runs: int, load_before: float) -> None:
    print(f"autotest local, {runs} runs of each kind, one at a time, alternating; {machine()}")
    pause = f"{IDLE_PAUSE_S:g}-{IDLE_PAUSE_S + 2.5:g} s"
    after_idle = f"; 'after idle': {idle_runs} API runs, each after a pause of {pause}"
    print(f"(load average {load_before:.2f} at the start){after_idle if idle_runs else ''}; p50 / p95 in ms")
    sides = list(dict.fromkeys(side for side, _ in timings))
    width = max(len(f"{side}: {kind}") for side, kind in timings) if len(sides) > 1 else 16
    print(f"{'':{width}}" + "".join(f" {h:>17}" for h in HEADINGS))
    for (side, kind), values in sorted(timings.items(), key=lambda item: (item[0][1], sides.index(item[0][0]))):
        f = figures(values)
        cells = [f"{f[n][0]:.0f} / {f[n][1]:.0f}" if n in f else "-" for n in FIGURES]
        label = f"{side}: {kind}" if len(sides) > 1 else kind
        print(f"{label:{width}}" + "".join(f" {c:>17}" for c in cells))
    per_kind = {kind: figures(values) for (side, kind), values in timings.items() if side == sides[0] and kind in KINDS}
    for kind, f in per_kind.items():
        work = "a one-GET API test" if kind == "API" else "a one-step browser test (goto + expect_text)"
        extra = {name: {"p50": round(v[0], 1), "p95": round(v[1], 1)} for name, v in f.items()}
        running_p50, running_p95 = f["running_ms"]
        met = running_p50 <= TARGET_RUNNING_MS
        emit(
            Result(
                bench="latency",
                work=f"local mode, {work}: submit -> running, p50",
                peer="",
                peer_value=None,
                autotest_value=round(running_p50, 1),
                unit="ms",
                rounds=runs,
                ratio=None,
                target=f"<= {TARGET_RUNNING_MS:g} ms",
                met=met,
                notes=f"p95 {running_p95:.0f} ms" + ("" if met else "; " + _why_slow(f)),
                extra=extra,
            )
        )
        result_p50, result_p95 = f["result_ms"]
        emit(
            Result(
                bench="latency",
                work=f"local mode, {work}: submit -> result (its event stream ended), p50",
                peer="",
                peer_value=None,
                autotest_value=round(result_p50, 1),
                unit="ms",
                rounds=runs,
                ratio=None,
                target="none (for information)",
                met=True,
                notes=f"p95 {result_p95:.0f} ms",
                extra=extra,
            )
        )


def _why_slow(f: dict[str, tuple[float, float]]) -> str:
    post = f["post_ms"][0]
    return (
        f"the POST alone takes {post:.0f} ms at p50 (the API, moto and the runner share one process and its GIL); "
        f"the rest, {f['running_ms'][0] - post:.0f} ms, is the queue hand-off and the runner's take"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="runs of each kind (after a warm-up of 3 each)")
    parser.add_argument(
        "--idle-runs", type=int, default=0, help="then this many API runs, each after local mode was idle a while"
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout (e.g. a git worktree of the commit before a change): its autotest local runs beside "
        "this one's, alternating, and the table shows both (the results emitted are this checkout's)",
    )
    options = parser.parse_args()
    main(options.runs, idle_runs=options.idle_runs, against=options.against)
