"""One browser session per pass over a plan: a fresh, isolated context from the pool, with the network guard
on every request (egress proxy + routes), console and network logs, and trace and video recording; on exit
everything it recorded is handed to the artifact collector (secrets masked)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page, Route, WebSocketRoute
from playwright.async_api import Error as PlaywrightError

from runner_container.runner.artifacts import ArtifactCollector, mask_zip
from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.egress import EgressProxy
from runner_container.runner.render import Masker
from shared.netguard import NetworkGuard, NetworkRefused
from shared.observability import logger

MAX_LOG_LINES = 5000
PASSTHROUGH_SCHEMES = frozenset({"data", "blob", "about"})


@dataclass
class PageLogs:
    """What a session saw besides the steps: refusals of the network guard (the running step fails with
    them), the page's console, and failed or refused network requests."""

    refusals: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)

    def log(self, lines: list[str], text: str) -> None:
        if len(lines) < MAX_LOG_LINES:
            lines.append(stamp(text))

    def refused(self, message: str, line: str) -> None:
        self.refusals.append(message)
        self.network.append(stamp(line))


@dataclass(frozen=True)
class Recorder:
    """Where a session's recordings go: the collector (under ``label``), with files in ``workdir``."""

    collector: ArtifactCollector
    masker: Masker
    workdir: Path
    label: str  # "" or "row-1/" (artifact name prefix)


@asynccontextmanager
async def browser_page(
    pool: BrowserPool, config: RunnerConfig, guard: NetworkGuard, logs: PageLogs, recorder: Recorder
) -> AsyncIterator[Page]:
    """A page in a fresh context, guarded and recorded; closed and collected on exit."""
    await pool.browser()  # launched once; tells whether ffmpeg (video) is available
    record_video = config.record_video and pool.video_available
    options: dict[str, Any] = {
        "viewport": {"width": config.viewport[0], "height": config.viewport[1]},
        "service_workers": "block",  # a service worker would bypass the network guard
        "accept_downloads": False,
    }
    if record_video:
        options["record_video_dir"] = str(recorder.workdir / "video")
    proxy = EgressProxy(guard, lambda message: logs.refused(message, f"REFUSED by the egress proxy: {message}"))
    # Every connection of the context goes through the proxy (loopback too: "<-loopback>"), so redirect
    # hops, which context.route never sees, pass the guard as well.
    options["proxy"] = {"server": await proxy.start(), "bypass": "<-loopback>"}
    try:
        async with pool.context(**options) as context:
            page = await context.new_page()
            await _instrument(context, page, guard, logs)
            if config.record_trace:
                await context.tracing.start(screenshots=True, snapshots=True, sources=False)
            try:
                yield page
            finally:
                await _collect(context, page, logs, recorder, trace=config.record_trace, video=record_video)
    finally:
        await proxy.close()


async def _instrument(context: BrowserContext, page: Page, guard: NetworkGuard, logs: PageLogs) -> None:
    async def guard_route(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme.lower() not in PASSTHROUGH_SCHEMES:
            try:
                await guard.check_async(url)
            except NetworkRefused as exc:
                logs.refused(exc.message, f"REFUSED {route.request.method} {url}: {exc.message}")
                await _quietly(route.abort("blockedbyclient"))
                return
        await _quietly(route.continue_())

    async def guard_socket(ws: WebSocketRoute) -> None:
        try:
            await guard.check_async(ws.url)
        except NetworkRefused as exc:
            logs.refused(exc.message, f"REFUSED websocket {ws.url}: {exc.message}")
            await _quietly(ws.close(code=1008, reason="refused by the autotest network guard"))
            return
        ws.connect_to_server()

    await context.route("**/*", guard_route)
    await context.route_web_socket("**/*", guard_socket)

    page.on("console", lambda msg: logs.log(logs.console, f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda err: logs.log(logs.console, f"[pageerror] {err}"))
    page.on(
        "requestfailed",
        lambda req: logs.log(logs.network, f"FAILED {req.method} {req.url}: {req.failure or 'unknown error'}"),
    )
    page.on(
        "response",
        lambda resp: (
            logs.log(logs.network, f"HTTP {resp.status} {resp.request.method} {resp.url}")
            if resp.status >= 400
            else None
        ),
    )


async def _collect(
    context: BrowserContext, page: Page, logs: PageLogs, recorder: Recorder, *, trace: bool, video: bool
) -> None:
    """Trace, video and logs of one session, into the collector. Never raises."""
    collector, label = recorder.collector, recorder.label
    try:
        if trace:
            path = recorder.workdir / "trace.zip"
            await context.tracing.stop(path=path)
            await asyncio.to_thread(mask_zip, path, recorder.masker)
            collector.add(f"{label}trace.zip", "trace", path)
    except Exception as exc:
        logger.warning("could not save the trace", error=str(exc))
    recording = page.video if video else None
    try:
        await context.close()
        if recording is not None:
            collector.add(f"{label}video.webm", "video", Path(await recording.path()))
    except Exception as exc:
        logger.warning("could not save the video", error=str(exc))
    for name, lines in (("console.log", logs.console), ("network.log", logs.network)):
        if lines:
            path = recorder.workdir / name
            path.write_text(recorder.masker.text("\n".join(lines)) + "\n")
            collector.add(f"{label}{name}", "log", path)


def stamp(text: str) -> str:
    return f"{time.strftime('%H:%M:%S')} {text}"


async def _quietly(awaitable: Any) -> None:
    """Route calls race with page teardown; a closed page is not an error worth reporting."""
    with contextlib.suppress(PlaywrightError):
        await awaitable
