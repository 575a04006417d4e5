"""One browser session per pass over a plan: a fresh, isolated context from the pool, with the network guard
on every request (egress proxy + routes), console and network logs, and trace and video recording; on exit
everything it recorded is handed to the artifact collector (secrets masked)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page, Response, Route, WebSocketRoute
from playwright.async_api import Error as PlaywrightError

from runner_container.runner.artifacts import ArtifactCollector
from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.egress import EgressProxy
from runner_container.runner.masking import Masker
from runner_container.runner.onpage import CANVAS_RECORDER
from runner_container.runner.tracemask import TraceNotKept, clean_trace
from shared.netguard import NetworkGuard, NetworkRefused
from shared.observability import logger

MAX_LOG_LINES = 5000
MAX_LINE_CHARS = 2000  # one console message or network line, after masking
MAX_LOG_BYTES = 1024 * 1024  # each of console.log and network.log
MAX_REFUSALS = 50  # refusal messages kept for the step that is running (all are counted)
TRUNCATED = "… truncated: the log reached its limit of {limit}; later lines are not kept"
PASSTHROUGH_SCHEMES = frozenset({"data", "blob", "about"})


@dataclass
class PageLog:
    """One log of a session (console or network): lines masked and cut as they arrive, bounded in lines
    and bytes, with a marker where it stops."""

    masker: Masker
    lines: list[str] = field(default_factory=list)
    size: int = 0
    full: bool = False

    def add(self, text: str) -> None:
        if self.full:
            return
        line = stamp(self.masker.clip(text, MAX_LINE_CHARS, marker=" … (line cut)"))
        size = len(line.encode("utf-8")) + 1
        if len(self.lines) >= MAX_LOG_LINES or self.size + size > MAX_LOG_BYTES:
            limit = f"{MAX_LOG_LINES} lines" if len(self.lines) >= MAX_LOG_LINES else f"{MAX_LOG_BYTES} bytes"
            self.lines.append(stamp(TRUNCATED.format(limit=limit)))
            self.full = True
            return
        self.lines.append(line)
        self.size += size

    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""


@dataclass
class PageLogs:
    """What a session saw besides the steps: refusals of the network guard (the running step fails with
    them), connections the egress proxy could not open (a navigation that fails names them), the page's
    console, failed or refused network requests, and whether a secret was put where the page shows it (then
    its screencast and video are not kept)."""

    masker: Masker
    console: PageLog = field(init=False)
    network: PageLog = field(init=False)
    refusal_count: int = 0
    _refusals: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=MAX_REFUSALS))
    unreachable_count: int = 0
    _unreachable: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=MAX_REFUSALS))
    secret_shown: str | None = None  # why the page may show a secret, for the artifact notes
    #: (status, method, URL) of the main frame's document now shown: a same-document navigation keeps it
    document: tuple[int, str, str] | None = None

    def __post_init__(self) -> None:
        self.console = PageLog(self.masker)
        self.network = PageLog(self.masker)

    def refused(self, message: str, line: str) -> None:
        self._refusals.append((self.refusal_count, self.masker.clip(message, MAX_LINE_CHARS)))
        self.refusal_count += 1
        self.network.add(line)

    def refusals_since(self, mark: int) -> list[str]:
        """The distinct refusal messages since ``refusal_count`` was ``mark`` (the latest ones if there were
        more than are kept, with a count of the others)."""
        return _since(self._refusals, self.refusal_count, mark, "requests refused")

    def unreachable(self, message: str) -> None:
        """The egress proxy could not connect to a server (``could not connect to URL: connection refused``)."""
        self._unreachable.append((self.unreachable_count, self.masker.clip(message, MAX_LINE_CHARS)))
        self.unreachable_count += 1
        self.network.add(f"FAILED {message}")

    def unreachable_since(self, mark: int) -> list[str]:
        """The distinct connection failures since ``unreachable_count`` was ``mark``."""
        return _since(self._unreachable, self.unreachable_count, mark, "connections failed")

    def show_secret(self, reason: str) -> None:
        if self.secret_shown is None:
            self.secret_shown = reason


def _since(records: deque[tuple[int, str]], count: int, mark: int, what: str) -> list[str]:
    kept = [message for number, message in records if number >= mark]
    unique = list(dict.fromkeys(kept))
    others = count - mark - len(kept)
    if others > 0:
        unique.append(f"and {others} more {what}")
    return unique


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
    proxy = EgressProxy(
        guard,
        on_refused=lambda message: logs.refused(message, f"REFUSED by the egress proxy: {message}"),
        on_unreachable=logs.unreachable,
    )
    # Every connection of the context goes through the proxy (loopback too: "<-loopback>"), so redirect
    # hops, which context.route never sees, pass the guard as well.
    options["proxy"] = {"server": await proxy.start(), "bypass": "<-loopback>"}
    try:
        async with pool.context(**options) as context:
            page = await context.new_page()
            # in turn, not at once: with the page opened while the init script and routes were set (one wait
            # instead of four, ~30 ms), a secret a script mirrored went unmasked in a screenshot under load (3 of 6
            # runs of tests/e2e/test_secrets_and_recordings.py beside other tests)
            await _instrument(context, page, guard, logs)
            trace = f"autotest-{uuid.uuid4().hex}" if config.record_trace else None
            if trace is not None:  # named, so that its files can be found and removed once it is saved
                await context.tracing.start(name=trace, screenshots=True, snapshots=True, sources=False)
            try:
                yield page
            finally:
                await _collect(pool, context, page, logs, recorder, trace=trace, video=record_video)
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

    await context.add_init_script(CANVAS_RECORDER)  # what canvases draw, for the secret scanner (onpage.py)
    await context.route("**/*", guard_route)
    await context.route_web_socket("**/*", guard_socket)

    page.on("console", lambda msg: logs.console.add(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda err: logs.console.add(f"[pageerror] {err}"))
    page.on(
        "requestfailed",
        lambda req: logs.network.add(f"FAILED {req.method} {req.url}: {req.failure or 'unknown error'}"),
    )

    def on_response(resp: Response) -> None:
        if resp.status >= 400:
            logs.network.add(f"HTTP {resp.status} {resp.request.method} {resp.url}")
        if resp.request.is_navigation_request() and resp.frame == page.main_frame:
            logs.document = (resp.status, resp.request.method, resp.url)

    page.on("response", on_response)


async def _collect(
    pool: BrowserPool,
    context: BrowserContext,
    page: Page,
    logs: PageLogs,
    recorder: Recorder,
    *,
    trace: str | None,
    video: bool,
) -> None:
    """Trace, video and logs of one session, into the collector. Never raises.

    When a secret was put where the page shows it, or the page was seen to show one (``logs.secret_shown``),
    the pictures of the page that cannot be masked go: the trace's screencast frames and the video
    (screenshots mask what shows a secret). The trace is cleaned record by record (``tracemask.py``); one
    that cannot be cleaned is not kept."""
    collector, label, shown = recorder.collector, recorder.label, logs.secret_shown
    if trace is not None:
        path = recorder.workdir / "trace.zip"
        try:
            await context.tracing.stop(path=path)
            notes = await asyncio.to_thread(clean_trace, path, recorder.masker, drop_frames=shown is not None)
            collector.add(f"{label}trace.zip", "trace", path)
            if shown is not None:
                collector.note(f"{label}trace.zip: screencast frames removed: {shown}")
            for note in notes:
                collector.note(f"{label}trace.zip: {note}")
        except TraceNotKept as exc:
            path.unlink(missing_ok=True)
            collector.note(f"{label}trace.zip: not kept: a secret could not be removed from it: {exc}")
        except Exception as exc:
            path.unlink(missing_ok=True)
            logger.warning("could not save the trace", error=str(exc))
        finally:
            pool.discard_trace(trace)  # the browser's own copy is not masked
    recording = page.video if video else None
    try:
        await context.close()
        if recording is not None:
            path = Path(await recording.path())
            if shown is None:
                collector.add(f"{label}video.webm", "video", path)
            else:
                path.unlink(missing_ok=True)
                collector.note(f"{label}video.webm: video not kept: {shown}")
    except Exception as exc:
        logger.warning("could not save the video", error=str(exc))
    for name, log in (("console.log", logs.console), ("network.log", logs.network)):
        text = log.text()
        if text:
            path = recorder.workdir / name
            path.write_text(recorder.masker.text(text))
            collector.add(f"{label}{name}", "log", path)


def stamp(text: str) -> str:
    return f"{time.strftime('%H:%M:%S')} {text}"


async def _quietly(awaitable: Any) -> None:
    """Route calls race with page teardown; a closed page is not an error worth reporting."""
    with contextlib.suppress(PlaywrightError):
        await awaitable
