"""The memory ``autotest local`` holds: idle, and with 1 and 4 browser runs in flight, against one Python process
driving Playwright with 1 and 4 browser contexts doing the same (the peer: what a team's own script costs).

What is measured: the whole process tree (``autotest local`` and every process under it: the Playwright driver,
Chromium's browser, renderer and utility processes, ffmpeg for videos, the check workers), as the sum of each
process's RSS and PSS from ``/proc/<pid>/smaps_rollup``. RSS counts a shared page once per process that maps it
(Chromium's processes share most of their code), PSS splits it between them: the PSS sum is what the tree
really takes from the machine, the RSS sum what tools like ``ps`` and ``top`` add up to.

The work: a browser test of a loopback page (this bench serves it) that opens the page, holds it
``--hold-s`` seconds (a ``wait_for`` of that many ms) and checks its heading, submitted to an
``autotest local --concurrency 4`` (its own process and data directory, no example app) 1 at a time, then 4 at
once. While the runs hold their page, every one of them ``running`` past its first step (read from the API,
so the 4 are truly in flight together; a round where they are not is refused), the tree is sampled every
0.2 s; the figure is the largest sample (the peak). The peer is a child process (this module with
``--peer``) running the same steps in 1 or 4 contexts of one Chromium (the same binary and launch arguments as
autotest's), sampled the same way while its pages hold.

Figures, each the median over ``--rounds`` rounds (the sides alternate within a round):

- **idle**: ``autotest local`` after start-up settled (3 s, nothing submitted): no browser yet.
- **1 run**, **4 runs**: the peak while they hold their pages.
- **each extra run** = (4 runs - 1 run) / 3: what one more concurrent run adds once a browser is up (the 1-run
  figure holds the browser itself; idle does not).
- **idle, warm**: 3 s after the last runs ended (the browser is kept for the next run).
- **idle, closed** (default artifacts only, to keep the bench short): once the runner has been idle for
  ``AUTOTEST_BROWSER_IDLE_CLOSE_S`` (the default, 60 s) and closed its browser and Playwright driver.

All of it twice: with autotest's default artifacts (a screenshot per step, video, trace) and with them off
(``AUTOTEST_SCREENSHOTS=off``, ``AUTOTEST_RECORD_VIDEO=false``, ``AUTOTEST_RECORD_TRACE=false``). The peer
records nothing. The breakdowns printed (the 4-run tree less the 1-run tree, the warm idle tree less the idle
one, by kind of process) say which processes hold the memory; a missed target's notes quote them.

Targets (the issue's, on RSS as it states them; the PSS beside each): idle under 300 MB, right after start-up,
within a minute of runs (the warm browser is part of an idle local mode then) and after it; each extra
concurrent browser run under 150 MB.

    .venv/bin/python -m bench.memory --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.common import Result, emit, machine, ratio_of
from bench.local_process import LocalProcess, page_server
from shared.settings import Settings

TARGET_IDLE_MB = 300.0
TARGET_EXTRA_MB = 150.0
SAMPLE_EVERY_S = 0.2
SETTLE_S = 3.0
CONCURRENT = 4
ARTIFACTS_OFF = {"AUTOTEST_SCREENSHOTS": "off", "AUTOTEST_RECORD_VIDEO": "false", "AUTOTEST_RECORD_TRACE": "false"}


# ------------------------------------------------------------------------------------------ measuring a tree


def parse_smaps_rollup(text: str) -> dict[str, int]:
    """``/proc/<pid>/smaps_rollup`` as ``{field: kB}`` (``Rss``, ``Pss``, ``Shared_Clean``...); the header line
    (the address range) and anything not ``Name: N kB`` are skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        parts = rest.split()
        if sep and len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            out[name.strip()] = int(parts[0])
    return out


def process_kind(name: str, cmdline: list[str]) -> str:
    """What a process of the tree is, for the breakdown: Chromium's by its ``--type``, else by its program."""
    program = Path(cmdline[0]).name if cmdline else name
    if "chrom" in program or "chrom" in name:
        kind = next((arg.split("=", 1)[1] for arg in cmdline if arg.startswith("--type=")), "browser")
        return f"chromium {kind}"
    if "ffmpeg" in program or "ffmpeg" in name:
        return "ffmpeg"
    if program == "node" or name == "node":
        return "playwright driver (node)"
    if "python" in program or "python" in name or program == "autotest":
        joined = " ".join(cmdline)
        if "forkserver" in joined or "resource_tracker" in joined or "multiprocessing" in joined:
            return "python helpers (check workers, fork server)"
        return "python (main)"
    return program or name


@dataclass(frozen=True)
class Sample:
    rss_kb: int
    pss_kb: int
    #: kind of process -> (count, RSS kB, PSS kB)
    kinds: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024

    @property
    def pss_mb(self) -> float:
        return self.pss_kb / 1024


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def sample(pid: int) -> Sample:
    """The RSS and PSS sums of ``pid``'s process tree now (processes that end while being read are left out)."""
    rss = pss = 0
    kinds: dict[str, tuple[int, int, int]] = {}
    for process in tree(pid):
        try:
            rollup = parse_smaps_rollup(Path(f"/proc/{process.pid}/smaps_rollup").read_text())
            kind = process_kind(process.name(), process.cmdline())
        except (OSError, psutil.Error):
            continue
        if "Rss" not in rollup:  # a zombie: nothing mapped
            continue
        rss += rollup["Rss"]
        pss += rollup.get("Pss", 0)
        count, kind_rss, kind_pss = kinds.get(kind, (0, 0, 0))
        kinds[kind] = (count + 1, kind_rss + rollup["Rss"], kind_pss + rollup.get("Pss", 0))
    return Sample(rss, pss, kinds)


def peak(samples: Iterable[Sample]) -> Sample:
    """The sample whose PSS sum is the largest."""
    return max(samples, key=lambda s: s.pss_kb)


def sample_while(pid: int, holding: Callable[[], bool]) -> Sample:
    """Sample ``pid``'s tree every ``SAMPLE_EVERY_S`` while ``holding()``; the peak. Raises if none was taken."""
    taken = []
    while holding():
        taken.append(sample(pid))
        time.sleep(SAMPLE_EVERY_S)
    if not taken:
        raise RuntimeError("the work ended before a sample was taken: hold the page longer (--hold-s)")
    return peak(taken)


def breakdown(high: Sample, low: Sample) -> dict[str, dict[str, float]]:
    """``high - low`` by kind of process (count, RSS MB, PSS MB), largest PSS first."""
    out = {}
    for kind in set(high.kinds) | set(low.kinds):
        hc, hr, hp = high.kinds.get(kind, (0, 0, 0))
        lc, lr, lp = low.kinds.get(kind, (0, 0, 0))
        out[kind] = {"processes": hc - lc, "rss_mb": round((hr - lr) / 1024, 1), "pss_mb": round((hp - lp) / 1024, 1)}
    return dict(sorted(out.items(), key=lambda item: -item[1]["pss_mb"]))


# ------------------------------------------------------------------------------------------ the two sides


def browser_spec(base_url: str, hold_s: float) -> dict[str, Any]:
    return {
        "name": "bench memory: hold a page",
        "steps": [
            {"action": "goto", "url": f"{base_url}/page"},
            {"action": "wait_for", "ms": int(hold_s * 1000)},
            {"action": "expect_text", "text": "Ready"},
        ],
    }


def holding_runs(local: LocalProcess, run_ids: list[str]) -> Callable[[], bool]:
    """A check that waits until every run is ``running`` with its first step passed (its page open, holding),
    then is True while they all still are; raises when one ended before all of them got there (they were not
    in flight together)."""
    state = {"all_in": False}

    def check() -> bool:
        while True:
            runs = [local.run(run_id) for run_id in run_ids]
            inside = [r["status"] == "running" and _first_step_passed(r) for r in runs]
            if all(inside):
                state["all_in"] = True
                return True
            if state["all_in"]:
                return False  # they were all holding, and one is past it: the window is over
            ended = [r for r in runs if r["status"] not in ("queued", "running")]
            if ended:
                raise SystemExit(
                    f"run {ended[0]['id']} ended {ended[0]['status']} before all {len(run_ids)} were in flight"
                )
            time.sleep(0.05)

    return check


def _first_step_passed(run: dict[str, Any]) -> bool:
    return any(step["index"] == 0 and step["status"] == "passed" for step in run["steps"])


def wait_ended(local: LocalProcess, run_ids: list[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = [local.run(run_id) for run_id in run_ids]
        if all(r["status"] not in ("queued", "running") for r in runs):
            failed = [r for r in runs if r["status"] != "passed"]
            if failed:
                raise SystemExit(f"run {failed[0]['id']} ended {failed[0]['status']}: {failed[0].get('error')}")
            return
        time.sleep(0.2)
    raise SystemExit("the runs did not end in 2 minutes")


def autotest_in_flight(local: LocalProcess, spec: dict[str, Any], count: int) -> Sample:
    run_ids = [local.submit(spec)["id"] for _ in range(count)]
    try:
        return sample_while(local.pid, holding_runs(local, run_ids))
    finally:
        wait_ended(local, run_ids)


def peer_in_flight(base_url: str, hold_s: float, count: int) -> Sample:
    """The peer in a child process: it prints ``holding`` when its ``count`` pages are open and ``done`` at the
    end; sampled in between."""
    command = [sys.executable, "-m", "bench.memory", "--peer", str(count), "--url", f"{base_url}/page"]
    child = subprocess.Popen(
        [*command, "--hold-s", str(hold_s)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1]
    )
    assert child.stdout is not None
    try:
        if child.stdout.readline().strip() != "holding":
            raise SystemExit("the peer did not open its pages")
        done = {"ended": False}
        os.set_blocking(child.stdout.fileno(), False)

        def holding() -> bool:
            line = child.stdout.readline() if child.stdout is not None else ""
            done["ended"] = done["ended"] or line.strip() == "done" or child.poll() is not None
            return not done["ended"]

        return sample_while(child.pid, holding)
    finally:
        child.wait(timeout=60)
        if child.returncode != 0:
            raise SystemExit(f"the peer exited {child.returncode}")


async def peer_child(count: int, url: str, hold_s: float) -> None:
    """The peer itself: one Chromium (autotest's binary and launch arguments), ``count`` contexts, each opening
    ``url``, holding it ``hold_s`` and checking its heading, as a team's own Playwright script would."""
    from playwright.async_api import async_playwright, expect

    from runner_container.runner.browser import LAUNCH_ARGS, find_browser

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(find_browser()), args=list(LAUNCH_ARGS))
        contexts = [await browser.new_context() for _ in range(count)]
        pages = [await context.new_page() for context in contexts]
        await asyncio.gather(*(page.goto(url) for page in pages))
        print("holding", flush=True)
        await asyncio.sleep(hold_s)
        await asyncio.gather(*(expect(page.get_by_text("Ready")).to_be_visible() for page in pages))
        print("done", flush=True)
        for context in contexts:
            await context.close()
        await browser.close()


# ----------------------------------------------------------------------------------------------- the bench


@dataclass
class Figures:
    idle: list[Sample] = field(default_factory=list)
    one: list[Sample] = field(default_factory=list)
    four: list[Sample] = field(default_factory=list)
    warm: list[Sample] = field(default_factory=list)
    closed: list[Sample] = field(default_factory=list)


def med(samples: list[Sample], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in samples)


def extra_mb(figures: Figures, attr: str) -> float:
    """Each extra concurrent run: the median of (4 runs - 1 run) / 3 over the rounds."""
    pairs = zip(figures.four, figures.one, strict=True)
    return statistics.median((getattr(f, attr) - getattr(o, attr)) / (CONCURRENT - 1) for f, o in pairs)


def median_round(figures: Figures) -> tuple[Sample, Sample]:
    """The (4 runs, 1 run) samples of the round whose extra-run PSS is the median (the lower of the middle two)."""
    pairs = sorted(zip(figures.four, figures.one, strict=True), key=lambda pair: pair[0].pss_kb - pair[1].pss_kb)
    return pairs[(len(pairs) - 1) // 2]


def idle_closed(pid: int) -> Sample:
    """``pid``'s tree once its runner closed the idle browser and driver (``browser_idle_close_s`` after the last
    run; the warm sample took ``SETTLE_S`` of it), waiting up to 30 s more for them to go."""
    time.sleep(max(0.0, Settings().browser_idle_close_s - SETTLE_S) + 1)
    deadline = time.monotonic() + 30
    while True:
        now = sample(pid)
        if not any(kind.startswith(("chromium", "playwright")) for kind in now.kinds) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(SETTLE_S)
    return peak(sample(pid) for _ in range(3))


def measure_mode(
    workdir: Path,
    env: dict[str, str],
    base_url: str,
    hold_s: float,
    rounds: int,
    peer: Figures,
    *,
    closing: bool = False,
) -> Figures:
    local = LocalProcess(workdir, args=("--concurrency", str(CONCURRENT)), env=env)
    figures = Figures()
    spec = browser_spec(base_url, hold_s)
    try:
        time.sleep(SETTLE_S)
        figures.idle.append(peak(sample(local.pid) for _ in range(3)))
        # one run to warm up (the browser's first launch, the first video): not counted
        run_ids = [local.submit(spec)["id"]]
        wait_ended(local, run_ids)
        for index in range(rounds):
            sides = ["autotest", "peer"] if index % 2 == 0 else ["peer", "autotest"]
            for side in sides:
                if side == "autotest":
                    figures.one.append(autotest_in_flight(local, spec, 1))
                    figures.four.append(autotest_in_flight(local, spec, CONCURRENT))
                else:
                    peer.one.append(peer_in_flight(base_url, hold_s, 1))
                    peer.four.append(peer_in_flight(base_url, hold_s, CONCURRENT))
        time.sleep(SETTLE_S)
        figures.warm.append(peak(sample(local.pid) for _ in range(3)))
        if closing:
            figures.closed.append(idle_closed(local.pid))
    finally:
        local.stop()
    return figures


def main(rounds: int, hold_s: float) -> None:
    print(f"{machine()}; {rounds} rounds, pages held {hold_s:g} s; MB, medians of the rounds' peaks")
    peer = Figures()
    modes: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp, page_server() as base_url:
        for name, env in (("default artifacts", {}), ("artifacts off", ARTIFACTS_OFF)):
            modes[name] = measure_mode(
                Path(tmp) / name.replace(" ", "-"), env, base_url, hold_s, rounds, peer, closing=not env
            )
    report(modes, peer, rounds)


def report(modes: dict[str, Figures], peer: Figures, rounds: int) -> None:
    print(f"{'':34} {'idle':>13} {'1 run':>13} {f'{CONCURRENT} runs':>13} {'each extra':>13} {'idle, warm':>13}")
    print(f"{'':34}" + f" {'RSS / PSS':>13}" * 5)

    def cell(samples: list[Sample]) -> str:
        return f"{med(samples, 'rss_mb'):.0f} / {med(samples, 'pss_mb'):.0f}" if samples else "-"

    def row(label: str, figures: Figures) -> None:
        extra = f"{extra_mb(figures, 'rss_mb'):.0f} / {extra_mb(figures, 'pss_mb'):.0f}"
        cells = [cell(figures.idle), cell(figures.one), cell(figures.four), extra, cell(figures.warm)]
        print(f"{label:34}" + "".join(f" {c:>13}" for c in cells))

    row("peer (Playwright, N contexts)", peer)
    for name, figures in modes.items():
        row(f"autotest local, {name}", figures)

    for name, figures in modes.items():
        four_sample, one_sample = median_round(figures)
        where = breakdown(four_sample, one_sample)
        warm_where = breakdown(peak(figures.warm), peak(figures.idle))
        print(f"{name}: {CONCURRENT} runs less 1 run, by process, RSS / PSS MB: {_listed(where)}")
        print(f"{name}: idle warm less idle, by process, RSS / PSS MB: {_listed(warm_where)}")
        common: dict[str, Any] = {
            name_: {"rss_mb": round(med(samples, "rss_mb"), 1), "pss_mb": round(med(samples, "pss_mb"), 1)}
            for name_, samples in (("idle", figures.idle), ("one_run", figures.one), ("four_runs", figures.four))
        }
        common["idle_warm"] = {
            "rss_mb": round(med(figures.warm, "rss_mb"), 1),
            "pss_mb": round(med(figures.warm, "pss_mb"), 1),
        }
        if figures.closed:
            common["idle_closed"] = {
                "rss_mb": round(med(figures.closed, "rss_mb"), 1),
                "pss_mb": round(med(figures.closed, "pss_mb"), 1),
            }
        common["extra_run"] = {
            "rss_mb": round(extra_mb(figures, "rss_mb"), 1),
            "pss_mb": round(extra_mb(figures, "pss_mb"), 1),
        }
        common["four_less_one_by_process"] = where
        common["warm_less_idle_by_process"] = warm_where
        if name == "default artifacts":
            idle_s = f"{Settings().browser_idle_close_s:g} s"
            closed = (
                [(f"{idle_s} after runs (browser and driver closed)", figures.closed, None)] if figures.closed else []
            )
            for label, samples, kept in (
                ("after start-up, nothing run yet (no browser)", figures.idle, None),
                (f"within {idle_s} of runs (the browser kept for the next run)", figures.warm, warm_where),
                *closed,
            ):
                idle = med(samples, "rss_mb")
                met = idle < TARGET_IDLE_MB
                why = "" if met or kept is None else "; over the idle figure, the processes kept warm: " + _per(kept, 1)
                emit(
                    Result(
                        bench="memory",
                        work=f"autotest local idle {label}, RSS of its process tree",
                        peer="",
                        peer_value=None,
                        autotest_value=round(idle, 1),
                        unit="MB",
                        rounds=len(samples),
                        ratio=None,
                        target=f"< {TARGET_IDLE_MB:g} MB",
                        met=met,
                        notes=f"PSS {med(samples, 'pss_mb'):.0f} MB" + why,
                        extra=common,
                    )
                )
        four, peer_four = med(figures.four, "rss_mb"), med(peer.four, "rss_mb")
        emit(
            Result(
                bench="memory",
                work=f"{CONCURRENT} browser runs in flight, {name}, RSS of the process tree",
                peer=f"one Python process, Playwright, {CONCURRENT} contexts",
                peer_value=round(peer_four, 1),
                autotest_value=round(four, 1),
                unit="MB",
                rounds=rounds,
                ratio=round(ratio_of(four, peer_four), 2),
                target="none (for information)",
                met=True,
                notes=f"PSS {med(figures.four, 'pss_mb'):.0f} MB, the peer's {med(peer.four, 'pss_mb'):.0f} MB",
                extra=common,
            )
        )
        extra, peer_extra = extra_mb(figures, "rss_mb"), extra_mb(peer, "rss_mb")
        met = extra < TARGET_EXTRA_MB
        emit(
            Result(
                bench="memory",
                work=f"each extra concurrent browser run, ({CONCURRENT} runs - 1 run) / 3, {name}, RSS",
                peer="one Python process, Playwright, one more context",
                peer_value=round(peer_extra, 1),
                autotest_value=round(extra, 1),
                unit="MB",
                rounds=rounds,
                ratio=round(ratio_of(extra, peer_extra), 2),
                target=f"< {TARGET_EXTRA_MB:g} MB",
                met=met,
                notes=f"PSS {extra_mb(figures, 'pss_mb'):.0f} MB (the peer's {extra_mb(peer, 'pss_mb'):.0f})"
                + ("" if met else "; what one more run adds, by process: " + _per(where, CONCURRENT - 1)),
                extra=common,
            )
        )


def _listed(where: dict[str, dict[str, float]]) -> str:
    shown = [(k, d) for k, d in where.items() if abs(d["rss_mb"]) >= 1 or abs(d["pss_mb"]) >= 1]
    return ", ".join(f"{k} {d['rss_mb']:+.0f} / {d['pss_mb']:+.0f} ({d['processes']:+d})" for k, d in shown) or "-"


def _per(where: dict[str, dict[str, float]], runs: int) -> str:
    """The kinds of process that hold 3 MB or more of RSS in ``where``, divided by ``runs``."""
    big = sorted(((k, d) for k, d in where.items() if d["rss_mb"] >= 3), key=lambda item: -item[1]["rss_mb"])
    return ", ".join(f"{k} {d['rss_mb'] / runs:.0f} MB RSS ({d['pss_mb'] / runs:.0f} PSS)" for k, d in big)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hold-s", type=float, default=4.0, help="how long each run holds its page")
    parser.add_argument("--peer", type=int, help=argparse.SUPPRESS)  # the peer's child process: its contexts
    parser.add_argument("--url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.peer:
        asyncio.run(peer_child(options.peer, options.url, options.hold_s))
    else:
        main(options.rounds, options.hold_s)
