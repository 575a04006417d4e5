"""The browser pool: one Chromium per worker process, reused; a fresh context per run; at most N
contexts at a time. Also finds the browser binary and makes ffmpeg visible to Playwright for video.

Playwright writes the traces of every context into the browser's traces folder, unmasked, and keeps them
until the browser closes. The pool owns that folder: a session removes its trace's files once it has saved
the (masked) trace (``discard_trace``); the resources traces share are removed whenever no other context is
open; and the browser is relaunched, which empties the folder, once it has served ``recycle_after`` contexts
and none is open.

An idle pool gives its memory back: once no context has been open for ``idle_close_s``, the browser closes and
the Playwright driver stops (about 480 MB of RSS between them, measured by ``bench/memory.py``); the next run
starts them again (about half a second). Off where the browser lives for one context anyway (Lambda's
single-process Chromium) and with ``idle_close_s=None``.

Ctrl-C in a terminal sends SIGINT to the whole foreground process group. autotest drains on it (running tests
finish); Playwright's driver, left in that group, would close every browser at once and fail them. So the
driver starts in a session of its own (``detach_driver``: the one spawn of ``playwright._impl.transport``, which
has no option for it, gets ``start_new_session=True``), where no terminal signal reaches it; the driver spawns
Chromium and ffmpeg detached (process groups of their own) in that session; and the browser is launched with
``handle_sigint=False``, so that a SIGINT the driver does get is not taken as an order to close it. The driver
exits, and ends its browsers, when autotest's end of its pipe closes, however autotest ends."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import playwright
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from shared.errors import DomainError
from shared.observability import logger

LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # WebRTC sends UDP (STUN, TURN, peer-to-peer) straight to any address, past the egress proxy and the
    # network guard: allow it only through the proxy, which carries TCP alone. QUIC is UDP too.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-quic",
)
#: Lambda has no /dev/shm to speak of and limits processes: Chromium runs as a single process there.
#: A single-process Chromium holds one context in its life (a second one, at once or after, fails with
#: "Target page, context or browser has been closed"): the pool then runs one context per launch.
SINGLE_PROCESS = "--single-process"
LAMBDA_ARGS = ("--no-zygote", SINGLE_PROCESS)
DEBIAN_BROWSERS = ("/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium")
#: contexts a browser serves before it is relaunched (when idle): bounds its traces folder and memory
RECYCLE_AFTER = 50


class BrowserNotFound(DomainError):
    code = "browser_not_found"


def browsers_path() -> Path:
    """Where Playwright keeps its browsers (``PLAYWRIGHT_BROWSERS_PATH``, else its default cache)."""
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured and configured != "0":
        return Path(configured)
    return Path.home() / ".cache" / "ms-playwright"


def _revision(name: str) -> str | None:
    """The revision of a Playwright-managed download (``ffmpeg``, ``chromium-headless-shell``)."""
    manifest = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    try:
        for entry in json.loads(manifest.read_text())["browsers"]:
            if entry["name"] == name:
                return str(entry["revision"])
    except (OSError, ValueError, KeyError):
        return None
    return None


def playwright_browsers(root: Path | None = None) -> list[Path]:
    """Playwright's own Chromium builds that are installed, headless shell first."""
    root = root or browsers_path()
    found: list[Path] = []
    for pattern in (
        "chromium_headless_shell-*/chrome-headless-shell-linux64/chrome-headless-shell",
        "chromium_headless_shell-*/chrome-linux/headless_shell",
        "chromium-*/chrome-linux64/chrome",
        "chromium-*/chrome-linux/chrome",
    ):
        found += sorted(root.glob(pattern), reverse=True)
    return [p for p in found if p.is_file()]


def find_browser(override: str | None = None, *, root: Path | None = None) -> Path:
    """``override`` (the ``browser_path`` setting) if given, else Playwright's Chromium where installed,
    else Debian's headless shell, else Debian's chromium."""
    if override:
        path = Path(override)
        if not path.is_file():
            raise BrowserNotFound(f"AUTOTEST_BROWSER_PATH={override} does not exist or is not a file")
        return path
    candidates = [*playwright_browsers(root), *(Path(p) for p in DEBIAN_BROWSERS)]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    looked = [str((root or browsers_path()) / "chromium*"), *DEBIAN_BROWSERS]
    raise BrowserNotFound(
        "no Chromium found; looked in " + ", ".join(looked) + ". Install one (`playwright install chromium` "
        "or `apt-get install chromium-headless-shell`) or set AUTOTEST_BROWSER_PATH."
    )


def ensure_ffmpeg(root: Path | None = None) -> bool:
    """Make sure Playwright finds an ffmpeg (it records video with it). Links the system ffmpeg into
    Playwright's browsers folder when Playwright's own build is missing. Returns whether video works."""
    root = root or browsers_path()
    revision = _revision("ffmpeg")
    existing = sorted(root.glob("ffmpeg-*/ffmpeg-linux"))
    wanted = root / f"ffmpeg-{revision}" / "ffmpeg-linux" if revision else None
    if wanted is not None and wanted.exists():
        return True
    if wanted is None:
        return bool(existing)
    system = shutil.which("ffmpeg")
    if system is None:
        return False
    try:
        wanted.parent.mkdir(parents=True, exist_ok=True)
        wanted.symlink_to(system)
    except OSError as exc:
        logger.warning("could not link ffmpeg for video recording", path=str(wanted), error=str(exc))
        return False
    logger.info("linked the system ffmpeg for Playwright video", path=str(wanted), ffmpeg=system)
    return True


class _OwnSession:
    """The ``asyncio`` module as Playwright's transport sees it: the same, but for ``create_subprocess_exec``,
    which starts the process (the driver) in a new session."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def create_subprocess_exec(self, *args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        kwargs.setdefault("start_new_session", True)
        return await self._real.create_subprocess_exec(*args, **kwargs)


def detach_driver() -> None:
    """Make Playwright start its driver in a session of its own (see the module's docstring). Changes what the
    name ``asyncio`` means inside ``playwright._impl.transport`` alone: nothing else's subprocesses."""
    from playwright._impl import transport

    current = getattr(transport, "asyncio", None)
    if isinstance(current, _OwnSession):
        return
    if not isinstance(current, ModuleType) or not hasattr(transport, "PipeTransport"):
        raise RuntimeError(
            "playwright._impl.transport no longer spawns the driver with asyncio.create_subprocess_exec: "
            "update runner_container/runner/browser.py:detach_driver for this Playwright version"
        )
    transport.asyncio = _OwnSession(current)  # type: ignore[assignment]


class BrowserPool:
    """One browser, launched on first use and relaunched if it dies (or when idle after ``recycle_after``
    contexts); ``context()`` hands out a fresh, isolated context per run and limits how many exist at once."""

    def __init__(
        self,
        *,
        concurrency: int = 2,
        executable: str | None = None,
        extra_args: tuple[str, ...] = (),
        recycle_after: int = RECYCLE_AFTER,
        idle_close_s: float | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("the browser pool needs a concurrency of at least 1")
        self._override = executable
        self._args = [*LAUNCH_ARGS, *extra_args]
        if SINGLE_PROCESS in self._args:
            concurrency, recycle_after, idle_close_s = 1, 1, None
        self._idle_close_s = idle_close_s if idle_close_s and idle_close_s > 0 else None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idle_task: asyncio.Task[None] | None = None
        self._last_use = 0.0  # the event loop's time the pool was last asked for the browser or a context
        self._slots = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._traces: Path | None = None  # the traces folder of the running browser
        self._open = 0  # contexts open now
        self._served = 0  # contexts opened by the running browser
        self._version: str | None = None  # of the browser launched last (kept while it is relaunched)
        self._recycle_after = recycle_after
        self.executable: Path | None = None
        self.video_available = False
        self.concurrency = concurrency

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def traces_dir(self) -> Path | None:
        return self._traces

    @property
    def running(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def browser(self) -> Browser:
        """The running browser, launched (with the driver) if there is none. Asked for outside ``context()``
        (a session learns from it whether video is possible), it keeps the idle close away for a while: the
        close is scheduled again from now, and ``context()`` cancels it."""
        self._used()
        try:
            return await self._launched()
        finally:
            if self._open == 0:
                self._schedule_idle_close()

    async def _launched(self) -> Browser:
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                logger.warning("the browser disconnected; launching a new one")
                self._drop_traces()
            if self._playwright is None:
                self.executable = find_browser(self._override)
                self.video_available = ensure_ffmpeg()
                detach_driver()
                self._playwright = await async_playwright().start()
            assert self.executable is not None
            self._traces = Path(tempfile.mkdtemp(prefix="autotest-traces-"))
            self._browser = await self._playwright.chromium.launch(
                executable_path=str(self.executable),
                headless=True,
                args=self._args,
                traces_dir=self._traces,
                handle_sigint=False,  # autotest decides when the browser closes (see the module's docstring)
            )
            self._served = 0
            self._version = f"Chromium {self._browser.version}"
            logger.info("browser launched", executable=str(self.executable), version=self._browser.version)
            return self._browser

    @asynccontextmanager
    async def context(self, **options: Any) -> AsyncIterator[BrowserContext]:
        """A fresh context; closed (and its slot released) on exit, whatever happens."""
        async with self._slots:
            self._open += 1
            try:
                browser = await self.browser()  # which holds the idle close off
                context = await browser.new_context(**options)
                self._served += 1
                try:
                    yield context
                finally:
                    try:
                        await context.close()
                    except Exception as exc:
                        logger.warning("could not close a browser context", error=str(exc))
            finally:
                self._open -= 1
                self._used()
                if self._open == 0:  # also when the run raised or was cancelled
                    self._schedule_idle_close()
            if self._open == 0 and self._served >= self._recycle_after:
                await self._recycle()

    def _used(self) -> None:
        self._cancel_idle_close()
        self._last_use = asyncio.get_running_loop().time()

    def _cancel_idle_close(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _schedule_idle_close(self, after_s: float | None = None) -> None:
        if self._idle_close_s is None or self._playwright is None:
            return
        self._cancel_idle_close()
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(after_s or self._idle_close_s, self._start_idle_close)

    def _start_idle_close(self) -> None:
        self._idle_timer = None
        if self._open == 0 and self._playwright is not None:
            self._idle_task = asyncio.get_running_loop().create_task(self._close_if_idle())

    async def _close_if_idle(self) -> None:
        async with self._lock:
            if self._idle_close_s is None or self._open or self._playwright is None:
                return  # a run came meanwhile: it keeps the browser (and schedules the close when it ends)
            left = self._last_use + self._idle_close_s - asyncio.get_running_loop().time()
            if left > 0.01:  # asked for the browser meanwhile (a run about to open its context)
                self._schedule_idle_close(left)
                return
            logger.info("closing the idle browser", idle_s=self._idle_close_s)
            try:
                await self._stop()
            except Exception as exc:  # the next run starts a new driver either way
                logger.warning("could not stop the idle browser's driver", error=str(exc))

    def discard_trace(self, name: str) -> None:
        """Remove what the trace ``name`` left in the traces folder (call it once the trace is saved, from
        inside the context). The resources traces share (content-addressed) go only when no other context is
        open, as another trace may need them. Synchronous on purpose: no other context opens meanwhile."""
        folder = self._traces
        if folder is None or not folder.is_dir():
            return
        alone = self._open <= 1
        try:
            if alone:
                for entry in folder.iterdir():
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
                return
            for entry in folder.glob(f"{name}*"):  # name.trace, name.network, name-pwnetcopy-1.network...
                entry.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("could not remove a trace's files", trace=name, error=str(exc))

    async def _recycle(self) -> None:
        async with self._lock:
            if self._open or self._browser is None or self._served < self._recycle_after:
                return
            logger.info("relaunching the browser", contexts_served=self._served)
            await self._close_browser()

    async def _close_browser(self) -> None:
        if self._browser is not None:
            try:
                await self._browser.close()
            except Exception as exc:
                logger.warning("could not close the browser", error=str(exc))
            self._browser = None
        self._drop_traces()

    def _drop_traces(self) -> None:
        if self._traces is not None:
            shutil.rmtree(self._traces, ignore_errors=True)
            self._traces = None

    async def _stop(self) -> None:
        await self._close_browser()
        if self._playwright is not None:
            try:
                await self._playwright.stop()
            finally:
                self._playwright = None

    async def close(self) -> None:
        self._cancel_idle_close()
        async with self._lock:
            await self._stop()
