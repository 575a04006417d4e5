"""What batching a suite run's browser children onto one runner saves, side by side.

The same N login runs (the example app's, as ``bench/runner_overhead.py`` runs it) go through ``RunExecutor``:

- **fresh runner per run** (what a deployment without batching pays when each run lands on a new container-Lambda
  invocation or a new worker): a new Playwright driver and browser pool for every run, closed after it;
- **batched, one fresh runner**: one batch message of the N runs on one new runner: one driver, one browser, a
  context per run in turn;
- the same two on a **warm worker** (the Fargate worker or local mode, whose pool already holds a Chromium): N
  single messages against one batch message. Here batching has nothing left to save.

The ``--lambda`` pair repeats the fresh-runner pair with Lambda's launch arguments (``--single-process``: the pool
launches a browser per context, so a batch saves the driver's start but not the browser launches).

A fresh runner here is a new pool in this process: a new process's start and imports (printed once, measured
apart) would come on top, so the saving measured is a lower bound. Contenders alternate round by round; medians of
the seconds per round of N runs; lower is better. Loopback only.

    .venv/bin/python -m bench.suite_batching --rounds 5 --runs 4 [--lambda] [--artifacts]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from bench.runner_overhead import PLAN
from examples.webapp import ADMIN_PASSWORD, serve
from runner_container.runner.browser import LAMBDA_ARGS, BrowserPool, find_browser
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import RunExecutor
from shared.models.runs import Run, RunCreate, RunStatus
from shared.observability import logger
from shared.services.runs import RunService
from shared.services.secrets import Secrets
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeSecretStore, FakeStore

Round = Callable[[], Awaitable[None]]


class Bench:
    """Runs on in-memory ports, executed by runners made on demand."""

    def __init__(self, base_url: str, executable: str, *, artifacts: bool) -> None:
        self.store, self.queue, self.files = FakeStore(), FakeQueue(), FakeArtifacts()
        self.runs = RunService(
            tests=self.store, runs=self.store, queue=self.queue, events=FakeEvents(), artifacts=self.files
        )
        secrets = FakeSecretStore()
        secrets.put("bench", "ADMIN_PASSWORD", ADMIN_PASSWORD)
        self.secrets = Secrets(secrets)
        self.config = RunnerConfig(
            network_allowlist="127.0.0.0/8",
            screenshots="every_step" if artifacts else "off",
            record_video=artifacts,
            record_trace=artifacts,
        )
        self.base_url = base_url
        self.executable = executable

    def pool(self, extra_args: tuple[str, ...] = ()) -> BrowserPool:
        return BrowserPool(concurrency=1, executable=self.executable, extra_args=extra_args)

    def executor(self, pool: BrowserPool) -> RunExecutor:
        return RunExecutor(runs=self.runs, artifacts=self.files, secrets=self.secrets, pool=pool, config=self.config)

    def queued(self, count: int) -> list[Run]:
        spec = {"steps": PLAN, "variables": {"base_url": self.base_url}}
        return [
            self.runs.start_run("bench", RunCreate.model_validate({"spec": spec}), enqueue=False) for _ in range(count)
        ]

    async def single(self, executor: RunExecutor, run: Run) -> None:
        self.runs.send_batch([run])
        message, _ = self.queue.sent.pop()
        await executor.execute(message)

    async def batch(self, executor: RunExecutor, runs: list[Run]) -> None:
        self.runs.send_batch(runs)
        message, _ = self.queue.sent.pop()
        assert len(message.members()) == len(runs)
        await executor.execute(message)

    def check(self, runs: list[Run]) -> None:
        for run in runs:
            stored = self.store.get_run(run.id)
            if stored.status != RunStatus.passed:
                raise RuntimeError(f"run {run.id} ended {stored.status}: {stored.error}")


def contenders(bench: Bench, count: int, warm: BrowserPool, *, lambda_args: bool) -> dict[str, Round]:
    warm_executor = bench.executor(warm)

    def fresh_per_run(extra: tuple[str, ...]) -> Round:
        async def one() -> None:
            runs = bench.queued(count)
            for run in runs:
                pool = bench.pool(extra)
                executor = bench.executor(pool)
                try:
                    await bench.single(executor, run)
                finally:
                    await pool.close()
                    executor.close()
            bench.check(runs)

        return one

    def fresh_batched(extra: tuple[str, ...]) -> Round:
        async def one() -> None:
            runs = bench.queued(count)
            pool = bench.pool(extra)
            executor = bench.executor(pool)
            try:
                await bench.batch(executor, runs)
            finally:
                await pool.close()
                executor.close()
            bench.check(runs)

        return one

    async def warm_unbatched() -> None:
        runs = bench.queued(count)
        for run in runs:
            await bench.single(warm_executor, run)
        bench.check(runs)

    async def warm_batched() -> None:
        runs = bench.queued(count)
        await bench.batch(warm_executor, runs)
        bench.check(runs)

    chosen = {
        "fresh runner per run": fresh_per_run(()),
        "batched, one fresh runner": fresh_batched(()),
        "warm worker, single messages": warm_unbatched,
        "warm worker, one batch message": warm_batched,
    }
    if lambda_args:
        chosen["Lambda args: fresh runner per run"] = fresh_per_run(LAMBDA_ARGS)
        chosen["Lambda args: batched, fresh runner"] = fresh_batched(LAMBDA_ARGS)
    return chosen


def process_start_s(samples: int = 3) -> float:
    """Median seconds for a new Python process to import the runner (what a new worker pays before any of the
    above; not included in the contenders)."""
    seconds = []
    for _ in range(samples):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import runner_container.runner.worker"], check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


async def main(rounds: int, count: int, *, lambda_args: bool, artifacts: bool) -> None:
    logger.setLevel("WARNING")
    executable = str(find_browser())
    with serve() as app:
        bench = Bench(app.url, executable, artifacts=artifacts)
        warm = bench.pool()
        chosen = contenders(bench, count, warm, lambda_args=lambda_args)
        for one in chosen.values():  # warm up: the first launch, the first page, the warm pool
            await one()
        results: dict[str, list[float]] = {name: [] for name in chosen}
        for _ in range(rounds):  # alternate, so drift hits every contender alike
            for name, one in chosen.items():
                started = time.perf_counter()
                await one()
                results[name].append(time.perf_counter() - started)
        await warm.close()
    medians = {name: statistics.median(seconds) for name, seconds in results.items()}
    what = "default artifacts" if artifacts else "artifacts off"
    print(f"{count} login runs per round, {rounds} rounds, {what}, Chromium {executable}")
    print(f"{'contender':36} {'median s/round':>15} {'s/run':>7} {'ratio':>16}")
    peers = {
        "batched, one fresh runner": "fresh runner per run",
        "warm worker, one batch message": "warm worker, single messages",
        "Lambda args: batched, fresh runner": "Lambda args: fresh runner per run",
    }
    for name, median in medians.items():
        peer = peers.get(name)
        ratio = f"{median / medians[peer]:.2f}x its peer" if peer else "(peer)"
        print(f"{name:36} {median:15.3f} {median / count:7.3f} {ratio:>16}")
    start_cost = (medians["fresh runner per run"] - medians["warm worker, single messages"]) / count
    print(f"runner start (driver + browser launch), per run: {start_cost:.3f} s")
    print(f"new process importing the runner (not in the figures above): {process_start_s():.3f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per contender (default 5)")
    parser.add_argument("--runs", type=int, default=4, help="runs per round: a batch's size (default 4)")
    parser.add_argument("--lambda", dest="lambda_args", action="store_true", help="add the --single-process pair")
    parser.add_argument("--artifacts", action="store_true", help="default artifacts (screenshots, video, trace)")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.runs, lambda_args=args.lambda_args, artifacts=args.artifacts))
