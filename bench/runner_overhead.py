"""What autotest's runner costs over a home-grown Playwright script, side by side.

The peer is what a team writes by hand: the same Chromium, a fresh context per run, the example
app's login test as five Playwright calls, no artifacts. autotest runs the same test as a step plan
through ``RunExecutor`` (placeholders, secrets, network guard + egress proxy, per-step results,
status writes and events on in-memory ports), once with every artifact off (the runner's own
overhead) and once with its defaults (a screenshot per step, video, trace, report).

Both run in this process, alternating, on the same browser binary, against the same example app.
Prints the median seconds per run and the ratio to the peer; lower is better.

    make bench            # or: .venv/bin/python -m bench.runner_overhead --runs 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from playwright.async_api import async_playwright, expect

from examples.webapp import ADMIN_PASSWORD, serve
from runner_container.runner.browser import LAUNCH_ARGS, BrowserPool, find_browser
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import RunExecutor
from shared.models.runs import RunCreate, RunStatus
from shared.observability import logger
from shared.services.runs import RunService
from shared.services.secrets import Secrets
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeSecretStore, FakeStore

PLAN = [
    {"action": "goto", "url": "{{base_url}}/login"},
    {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
    {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
    {"action": "click", "target": {"role": "button", "name": "Log in"}},
    {"action": "expect_text", "text": "Welcome, admin"},
]


async def timed(runs: int, one: Callable[[], Awaitable[None]]) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await one()
        seconds.append(time.perf_counter() - started)
    return seconds


def autotest_runner(pool: BrowserPool, base_url: str, *, artifacts: bool) -> Callable[[], Awaitable[None]]:
    store, queue, files, events = FakeStore(), FakeQueue(), FakeArtifacts(), FakeEvents()
    runs = RunService(tests=store, runs=store, queue=queue, events=events, artifacts=files)
    config = RunnerConfig(
        network_allowlist="127.0.0.0/8",
        screenshots="every_step" if artifacts else "off",
        record_video=artifacts,
        record_trace=artifacts,
    )
    secrets = FakeSecretStore()
    secrets.put("bench", "ADMIN_PASSWORD", ADMIN_PASSWORD)
    executor = RunExecutor(runs=runs, artifacts=files, secrets=Secrets(secrets), pool=pool, config=config)

    async def one() -> None:
        spec = {"steps": PLAN, "variables": {"base_url": base_url}}
        run = runs.start_run("bench", RunCreate.model_validate({"spec": spec}))
        message, _ = queue.sent.pop()
        await executor.execute(message)
        status = store.get_run(run.id).status
        if status != RunStatus.passed:
            raise RuntimeError(f"autotest run {run.id} ended {status}: {store.get_run(run.id).error}")

    return one


async def main(runs: int) -> None:
    logger.setLevel("WARNING")  # one line per run would bury the table
    executable = str(find_browser())
    with serve() as app:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=list(LAUNCH_ARGS))

            async def peer() -> None:
                context = await browser.new_context()
                page = await context.new_page()
                await page.goto(f"{app.url}/login")
                await page.get_by_label("Username").fill("admin")
                await page.get_by_label("Password").fill(ADMIN_PASSWORD)
                await page.get_by_role("button", name="Log in").click()
                await expect(page.get_by_text("Welcome, admin")).to_be_visible()
                await context.close()

            pool = BrowserPool(concurrency=1, executable=executable)
            contenders = {
                "peer: bare Playwright script": peer,
                "autotest, artifacts off": autotest_runner(pool, app.url, artifacts=False),
                "autotest, default artifacts": autotest_runner(pool, app.url, artifacts=True),
            }
            for one in contenders.values():  # warm up: browser launch, first page
                await one()
            results: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(runs):  # alternate, so drift hits every contender alike
                for name, one in contenders.items():
                    results[name] += await timed(1, one)
            await pool.close()
            await browser.close()

    peer_median = statistics.median(results["peer: bare Playwright script"])
    print(f"login test, {runs} runs each, Chromium {executable}")
    print(f"{'contender':32} {'median s/run':>13} {'p90 s/run':>10} {'ratio to peer':>14}")
    for name, seconds in results.items():
        median = statistics.median(seconds)
        p90 = statistics.quantiles(seconds, n=10)[-1] if len(seconds) >= 2 else median
        print(f"{name:32} {median:13.3f} {p90:10.3f} {median / peer_median:13.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per contender (default 15)")
    asyncio.run(main(parser.parse_args().runs))
