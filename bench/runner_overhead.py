"""What autotest's runner costs over a home-grown Playwright script, side by side.

The peer is what a team writes by hand: the same Chromium, a fresh context per run, a 22-step flow on the example
app (log in, fill and save the preferences form, remove an item from the list and read one back) as Playwright
calls, no artifacts. autotest runs the same flow as a step plan through ``RunExecutor`` (placeholders, secrets,
network guard + egress proxy, per-step results written as the steps end, status writes and events on in-memory
ports), once with every artifact off (the runner's own overhead) and once with its defaults (a screenshot per
step, video, trace, report).

All three run in this process, alternating, on the same browser binary, against the same example app. Prints the
median and p90 seconds per run and the ratio to the peer (lower is better), then a ``bench-result`` line per
target: artifacts off <= 1.10x the peer, default artifacts <= 1.5x.

Then a profile: one more run of each autotest contender with timers around the runner's phases (the steps, the
targets' resolution within them, the progress writes behind them, screenshots, uploads...), and one more run of
the peer and of autotest with artifacts off counting the calls the Playwright client sends its driver, by method
(each is a round trip to the browser), so that the notes say where the time over the peer goes.

    make bench            # or: .venv/bin/python -m bench.runner_overhead --runs 15
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import inspect
import re
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Page, async_playwright, expect

from bench.common import Result, emit, machine
from examples.webapp import ADMIN_PASSWORD, serve
from runner_container.runner.browser import LAUNCH_ARGS, BrowserPool, find_browser
from runner_container.runner.config import RunnerConfig
from runner_container.runner.executor import RunExecutor
from shared.models.runs import RunCreate, RunStatus
from shared.observability import logger
from shared.services.runs import RunService
from shared.services.secrets import Secrets
from tests.fakes import FakeArtifacts, FakeEvents, FakeQueue, FakeSecretStore, FakeStore

#: the example login (other benchmarks run it too)
PLAN = [
    {"action": "goto", "url": "{{base_url}}/login"},
    {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
    {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
    {"action": "click", "target": {"role": "button", "name": "Log in"}},
    {"action": "expect_text", "text": "Welcome, admin"},
]

SUMMARY = "color: blue, newsletter: yes, size: medium"

#: the flow this benchmark times: 22 steps over three pages of the example app
FLOW = [
    {"action": "goto", "url": "{{base_url}}/login"},
    {"action": "expect_title", "text": "Log in"},
    {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
    {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
    {"action": "click", "target": {"role": "button", "name": "Log in"}},
    {"action": "expect_url", "pattern": "/welcome"},
    {"action": "expect_text", "text": "Welcome, admin"},
    {"action": "goto", "url": "{{base_url}}/form"},
    {"action": "select", "target": {"label": "Favourite color"}, "value": "blue"},
    {"action": "check", "target": {"label": "Subscribe to the newsletter"}},
    {"action": "check", "target": {"role": "radio", "name": "Medium"}},
    {"action": "fill", "target": {"placeholder": "Anything else?"}, "value": "Deliver after 6pm"},
    {"action": "click", "target": {"role": "button", "name": "Save preferences"}},
    {"action": "expect_url", "pattern": "/form/result"},
    {"action": "expect_title", "text": "Saved"},
    {"action": "expect_text", "target": {"css": "#summary"}, "text": SUMMARY},
    {"action": "goto", "url": "{{base_url}}/list"},
    {"action": "expect_text", "target": {"role": "list", "name": "Items"}, "text": "Bread"},
    {"action": "click", "target": {"css": "[data-testid=item-2] button"}},
    {"action": "expect_text", "target": {"css": "#count"}, "text": "2"},
    {"action": "extract", "target": {"test_id": "item-1"}, "var": "first_item"},
    {"action": "expect_text", "target": {"test_id": "item-1"}, "text": "{{first_item}}"},
]


async def peer_flow(page: Page, base_url: str) -> None:
    """:data:`FLOW` as a team writes it in Playwright."""
    await page.goto(f"{base_url}/login")
    await expect(page).to_have_title(re.compile("Log in"))
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile("/welcome"))
    await expect(page.get_by_text("Welcome, admin")).to_be_visible()
    await page.goto(f"{base_url}/form")
    await page.get_by_label("Favourite color").select_option("blue")
    await page.get_by_label("Subscribe to the newsletter").check()
    await page.get_by_role("radio", name="Medium").check()
    await page.get_by_placeholder("Anything else?").fill("Deliver after 6pm")
    await page.get_by_role("button", name="Save preferences").click()
    await expect(page).to_have_url(re.compile("/form/result"))
    await expect(page).to_have_title(re.compile("Saved"))
    await expect(page.locator("#summary")).to_contain_text(SUMMARY)
    await page.goto(f"{base_url}/list")
    await expect(page.get_by_role("list", name="Items")).to_contain_text("Bread")
    await page.locator("[data-testid=item-2] button").click()
    await expect(page.locator("#count")).to_contain_text("2")
    first = await page.get_by_test_id("item-1").inner_text()
    await expect(page.get_by_test_id("item-1")).to_contain_text(first)


PEER, OFF, DEFAULT = "peer: bare Playwright script", "autotest, artifacts off", "autotest, default artifacts"


#: the runner's phases one profiled run times (module, attribute, name): each wrapped, its wall time summed
PHASES = (
    ("runner_container.runner.steps", "StepRunner.run", "the steps"),
    ("runner_container.runner.healing", "TargetFinder.find", "resolving their targets"),
    ("shared.services.runs", "RunService.record_progress", "progress writes (in a thread, behind the steps)"),
    ("runner_container.runner.steps", "StepRunner._screenshot", "screenshots"),
    ("runner_container.runner.onpage", "SecretScanner.mark", "secret scan before each screenshot"),
    ("runner_container.runner.onpage", "SecretScanner.uncovered", "secret scan after each screenshot"),
    ("runner_container.runner.session", "_collect", "trace stop, video and logs"),
    ("runner_container.runner.artifacts", "ArtifactCollector.upload_all", "uploads"),
    ("runner_container.runner.executor", "RunExecutor._reports", "reports"),
    ("runner_container.runner.executor", "RunExecutor._finish", "final write"),
)


async def profiled(one: Callable[[], Awaitable[None]]) -> dict[str, float]:
    """One more run of ``one`` with a timer around each of :data:`PHASES`: milliseconds per phase (nested phases
    are counted in their parents too)."""
    spent: dict[str, float] = dict.fromkeys((name for _, _, name in PHASES), 0.0)
    undo: list[tuple[Any, str, Any]] = []
    for module_name, attribute, name in PHASES:
        owner: Any = importlib.import_module(module_name)
        *path, last = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, last)

        def timer(original: Any = original, name: str = name) -> Any:
            @functools.wraps(original)
            async def timed_phase(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    spent[name] += (time.perf_counter() - started) * 1000

            @functools.wraps(original)
            def timed_call(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    spent[name] += (time.perf_counter() - started) * 1000

            return timed_phase if inspect.iscoroutinefunction(original) else timed_call

        setattr(owner, last, timer())
        undo.append((owner, last, original))
    started = time.perf_counter()
    try:
        await one()
    finally:
        for owner, last, original in reversed(undo):
            setattr(owner, last, original)
    spent["the whole run"] = (time.perf_counter() - started) * 1000
    return {name: round(ms, 1) for name, ms in spent.items()}


async def protocol_calls(one: Callable[[], Awaitable[None]]) -> Counter[str]:
    """One more run of ``one``, counting the calls the Playwright client sends its driver by object and method
    (``Frame.queryCount``): each is a round trip to the browser. (It wraps Playwright's private
    ``Connection.send_message_to_server``: a Playwright without it counts nothing.)"""
    counted: Counter[str] = Counter()
    connection: Any = importlib.import_module("playwright._impl.connection").Connection
    original = getattr(connection, "send_message_to_server", None)
    if original is None:
        await one()
        return counted

    def counting(self: Any, owner: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        if not method.startswith("__"):  # (``__waitInfo__``: call logs, no round trip)
            counted[f"{owner._type}.{method}"] += 1
        return original(self, owner, method, *args, **kwargs)

    connection.send_message_to_server = counting
    try:
        await one()
    finally:
        connection.send_message_to_server = original
    return counted


#: why autotest makes a call the peer does not (or more of them), for the notes
WHY_CALLS = {
    "Frame.queryCount": "a count of each target's matches before acting, as exactly one must match, and one "
    "for a secret fill's password check and for extract's field check",
    "Route.continue": "the network guard's route, a round trip through Python for every request",
    "Page.updateSubscription": "the console and network logs' listeners",
    "BrowserContext.addInitScript": "the canvas recorder of the secret scanner",
    "BrowserContext.setNetworkInterceptionPatterns": "the guard's route",
    "BrowserContext.setWebSocketInterceptionPatterns": "the guard's WebSocket route",
}


def calls_note(autotest: Counter[str], peer: Counter[str], steps: int) -> str:
    """What autotest's Playwright calls are over the peer's, in words."""
    more = [(name, n - peer.get(name, 0)) for name, n in autotest.items() if n > peer.get(name, 0)]
    fewer = [(name, peer[name] - autotest.get(name, 0)) for name in peer if peer[name] > autotest.get(name, 0)]
    more.sort(key=lambda item: -item[1])
    listed = "; ".join(f"+{n} {name}" + (f" ({WHY_CALLS[name]})" if name in WHY_CALLS else "") for name, n in more)
    spared = ", ".join(f"-{n} {name}" for name, n in fewer)
    total, theirs = sum(autotest.values()), sum(peer.values())
    return (
        f"autotest made {total} Playwright calls a run ({total / steps:.1f} a step) to the peer's {theirs} "
        f"({theirs / steps:.1f}): {listed}" + (f"; {spared} (expect_url reads the URL in Python)" if spared else "")
    )


#: what the calls and timers leave out: the work on the wire that no call counts
NOT_COUNTED = (
    "besides, every request of the page goes through the egress proxy (in Python, a new connection per request: "
    "no keep-alive), and the route's event adds a round trip to each"
)


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
        spec = {"steps": FLOW, "variables": {"base_url": base_url}}
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
                await peer_flow(page, app.url)
                await context.close()

            pool = BrowserPool(concurrency=1, executable=executable)
            contenders = {
                PEER: peer,
                OFF: autotest_runner(pool, app.url, artifacts=False),
                DEFAULT: autotest_runner(pool, app.url, artifacts=True),
            }
            for one in contenders.values():  # warm up: browser launch, first page
                await one()
            results: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(runs):  # alternate, so drift hits every contender alike
                for name, one in contenders.items():
                    results[name] += await timed(1, one)
            profiles = {name: await profiled(contenders[name]) for name in (OFF, DEFAULT)}
            calls = {name: await protocol_calls(contenders[name]) for name in (PEER, OFF)}
            await pool.close()
            await browser.close()

    medians = {name: statistics.median(seconds) for name, seconds in results.items()}
    peer_median = medians[PEER]
    print(f"{len(FLOW)}-step browser flow, {runs} runs each, Chromium {executable}; {machine()}")
    print(f"{'contender':32} {'median s/run':>13} {'p90 s/run':>10} {'ratio to peer':>14}")
    for name, seconds in results.items():
        p90 = statistics.quantiles(seconds, n=10)[-1] if len(seconds) >= 2 else medians[name]
        print(f"{name:32} {medians[name]:13.3f} {p90:10.3f} {medians[name] / peer_median:13.2f}x")
    for name, target, limit in ((OFF, "<= 1.10x", 1.10), (DEFAULT, "<= 1.5x", 1.5)):
        ratio = medians[name] / peer_median
        per_step_ms = (medians[name] - peer_median) / len(FLOW) * 1000
        phases = ", ".join(f"{phase} {ms:.0f} ms" for phase, ms in profiles[name].items() if ms >= 1)
        print(f"  {name}, one more run with timers: {phases or 'nothing over 1 ms'}")
        notes = f"{per_step_ms:+.1f} ms per step over the peer; one run with timers: {phases}"
        extra: dict[str, Any] = {"per_step_ms": round(per_step_ms, 2), "profile_ms": profiles[name]}
        if name in calls:
            said = calls_note(calls[name], calls[PEER], len(FLOW))
            print(f"  {name}, one more run counting Playwright calls: {said}")
            notes += f"; {said}; {NOT_COUNTED}"
            extra["playwright_calls"] = dict(calls[name].most_common())
            extra["peer_playwright_calls"] = dict(calls[PEER].most_common())
        emit(
            Result(
                bench="runner_overhead",
                work=f"one {len(FLOW)}-step browser flow, {name.removeprefix('autotest, ')}",
                peer="bare Playwright script",
                peer_value=round(peer_median, 4),
                autotest_value=round(medians[name], 4),
                unit="s",
                rounds=runs,
                ratio=round(ratio, 3),
                target=target,
                met=ratio <= limit,
                notes=notes,
                extra=extra,
            )
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per contender (default 15)")
    asyncio.run(main(parser.parse_args().runs))
