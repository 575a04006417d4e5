"""What a plain-English test costs on a rerun, over the same test written as an explicit plan, side by side.

The plain test is examples/tests/plain/login.yaml: a goal in sentences (planned once by the sentence grammar,
then taken from the plan cache), descriptions for targets ("Username", "Log in"),
a saved test whose steps' elements the element cache (in memory: tests/fakes.py) remembers from its first
run. The explicit plan is the same steps with structured targets ({label: Username}, {role: button, name:
Log in}), run inline (no cache: nothing to look up). Both go through ``RunExecutor`` with every artifact off,
so that the difference is the runner's own: the cache lookup, the cached locator's check and its fingerprint
against resolving a structured target. A third contender reruns the plain test against the redesigned app
("Sign in", "User name"), whose heals the cache remembers: no healer call, no wait.

All run in this process, alternating, on the same browser, against the same example apps. Prints the median
seconds per run and the ratio to the explicit plan; the target is at most 1.15x.

    make bench            # or: .venv/bin/python -m bench.plain_english --runs 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from examples.webapp import ADMIN_PASSWORD, serve
from runner_container.runner.browser import BrowserPool, find_browser
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import RunExecutor
from shared.models.runs import RunCreate, RunStatus
from shared.models.tests import TestCreate
from shared.observability import logger
from shared.planning.rules import RulePlanner
from shared.services.catalog import Catalog
from shared.services.planning import Planning
from shared.services.runs import RunService
from shared.services.secrets import Secrets
from tests.fakes import (
    FakeArtifacts,
    FakeElementCache,
    FakeEvents,
    FakePlanQueue,
    FakePlanStore,
    FakeQueue,
    FakeSecretStore,
    FakeStore,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "tests"
PROJECT = "bench"
TARGET_RATIO = 1.15


def explicit_steps() -> list[dict[str, Any]]:
    """examples/tests/login.yaml without its title check: the plain test's steps, one for one."""
    steps = yaml.safe_load((EXAMPLES / "login.yaml").read_text())["steps"]
    return [s for s in steps if s["action"] != "expect_title"]


class Contender:
    def __init__(self, pool: BrowserPool, *, cache: bool) -> None:
        self.store, self.queue, files, events = FakeStore(), FakeQueue(), FakeArtifacts(), FakeEvents()
        # goal-only tests are planned by the sentence grammar once; reruns take the plan from the cache
        planning = Planning(
            tests=self.store,
            runs=self.store,
            plans=FakePlanStore(),
            planner=RulePlanner(),
            queue=FakePlanQueue(),
            events=events,
            catalog=Catalog(self.store),
            inline=True,
        )
        self.runs = RunService(
            tests=self.store, runs=self.store, queue=self.queue, events=events, artifacts=files, planning=planning
        )
        config = RunnerConfig(
            network_allowlist="127.0.0.0/8", screenshots="off", record_video=False, record_trace=False
        )
        secrets = FakeSecretStore()
        secrets.put(PROJECT, "ADMIN_PASSWORD", ADMIN_PASSWORD)
        self.cache = FakeElementCache() if cache else None
        self.executor = RunExecutor(
            runs=self.runs,
            artifacts=files,
            secrets=Secrets(secrets),
            pool=pool,
            config=config,
            element_cache=self.cache,
        )

    def saved(self, body: dict[str, Any], base_url: str) -> Callable[[], Awaitable[dict[str, int]]]:
        """A run of ``body`` saved as a test (its elements cached across runs)."""
        spec = {**body, "variables": {**body.get("variables", {}), "base_url": base_url}}
        test, _ = Catalog(self.store).create_test(PROJECT, TestCreate.model_validate(spec))
        return lambda: self._run({"test_id": test.id})

    def inline(self, steps: list[dict[str, Any]], base_url: str) -> Callable[[], Awaitable[dict[str, int]]]:
        return lambda: self._run({"spec": {"steps": steps, "variables": {"base_url": base_url}}})

    async def _run(self, body: dict[str, Any]) -> dict[str, int]:
        run = self.runs.start_run(PROJECT, RunCreate.model_validate(body))
        message, _ = self.queue.sent.pop()
        await self.executor.execute(message)
        done = self.store.get_run(run.id)
        if done.status != RunStatus.passed:
            raise RuntimeError(f"run {run.id} ended {done.status}: {done.error}")
        # the time of the steps with a target (finding the element, then acting): less noisy than the whole run
        return {**done.stats.model_dump(), "target_ms": sum(s.duration_ms or 0 for s in done.steps if s.locator)}


async def main(runs: int) -> None:
    logger.setLevel("WARNING")
    executable = str(find_browser())
    plain = yaml.safe_load((EXAMPLES / "plain" / "login.yaml").read_text())
    with serve() as app, serve(variant="redesigned") as redesign:
        pool = BrowserPool(concurrency=1, executable=executable)
        explicit = Contender(pool, cache=False)
        cached = Contender(pool, cache=True)
        contenders: dict[str, Callable[[], Awaitable[dict[str, int]]]] = {
            "explicit plan": explicit.inline(explicit_steps(), app.url),
            "plain English, cache warm": cached.saved(plain, app.url),
            "plain English, redesign, cache warm": cached.saved(plain, redesign.url),
        }
        first: dict[str, dict[str, int]] = {}
        for name, one in contenders.items():  # warm up: browser launch, first page; fills the cache
            first[name] = await one()
        results: dict[str, list[float]] = {name: [] for name in contenders}
        targets: dict[str, list[int]] = {name: [] for name in contenders}
        last: dict[str, dict[str, int]] = {}
        for _ in range(runs):  # alternate, so drift hits every contender alike
            for name, one in contenders.items():
                started = time.perf_counter()
                last[name] = await one()
                results[name].append(time.perf_counter() - started)
                targets[name].append(last[name]["target_ms"])
        await pool.close()

    base = statistics.median(results["explicit plan"])
    target_base = statistics.median(targets["explicit plan"]) or 1
    print(f"login test, {runs} runs each after one warm-up run, artifacts off, Chromium {executable}")
    print(
        f"{'contender':36} {'median s/run':>12} {'p90 s/run':>9} {'ratio':>6} {'target steps ms':>15} {'ratio':>6}"
        "  first run -> rerun"
    )
    for name, seconds in results.items():
        median = statistics.median(seconds)
        p90 = statistics.quantiles(seconds, n=10)[-1] if len(seconds) >= 2 else median
        target_ms = statistics.median(targets[name])
        stats = f"heals {first[name]['heals']}->{last[name]['heals']}, healer calls "
        stats += f"{first[name]['healer_calls']}->{last[name]['healer_calls']}, cache hits {last[name]['cache_hits']}"
        print(
            f"{name:36} {median:12.3f} {p90:9.3f} {median / base:5.2f}x {target_ms:15.0f} "
            f"{target_ms / target_base:5.2f}x  {stats}"
        )
    ratio = statistics.median(results["plain English, cache warm"]) / base
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"plain English rerun / explicit plan: {ratio:.2f}x ({verdict} the {TARGET_RATIO:.2f}x target)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per contender (default 15)")
    asyncio.run(main(parser.parse_args().runs))
