"""Execute one attempt of a run: take it, render it, run every step in a fresh browser context, upload
artifacts, store the result (or start the next attempt).

The executor is the runner's one job; ``worker.py`` (SQS long-poll, Fargate) and ``lambda_handler.py``
(SQS event source) only feed it messages and decide what happens to the message afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx
from playwright.async_api import BrowserContext, Locator, Page, Route, WebSocketRoute, expect
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from runner_container.runner.artifacts import ArtifactCollector, mask_zip, run_prefix
from runner_container.runner.browser import BrowserPool
from runner_container.runner.egress import EgressProxy
from runner_container.runner.render import Masker, Renderer, RenderError, check_plan, load_secrets, placeholders
from runner_container.runner.targets import resolve
from shared.apitests.http import RequestFailed, run_request
from shared.errors import Conflict, DomainError, NotFound
from shared.models.common import VarValue
from shared.models.messages import RunMessage
from shared.models.plans import (
    BROWSER_ACTIONS,
    Check,
    Click,
    ExpectText,
    ExpectTitle,
    ExpectUrl,
    ExpectVisible,
    Extract,
    Fill,
    Goto,
    Hover,
    Press,
    Request,
    Screenshot,
    Select,
    Step,
    Uncheck,
    WaitFor,
    describe_target,
)
from shared.models.runs import Iteration, Run, RunStatus, StepResult
from shared.netguard import NetworkGuard, NetworkRefused
from shared.observability import logger
from shared.ports import ArtifactStore, SecretSource
from shared.services.runs import RunService
from shared.settings import Settings

MAX_ERROR_CHARS = 2000
MAX_LOG_LINES = 5000
SCREENSHOT_TIMEOUT_MS = 5000
FAILURE_SCREENSHOT_TIMEOUT_MS = 1500  # a page stuck mid-navigation cannot be captured; don't wait long
PASSTHROUGH_SCHEMES = frozenset({"data", "blob", "about"})
RETRYABLE = frozenset({RunStatus.failed, RunStatus.error, RunStatus.timed_out})
#: how iteration statuses combine into the run's status, most significant first
SEVERITY = (RunStatus.cancelled, RunStatus.timed_out, RunStatus.error, RunStatus.failed, RunStatus.passed)


@dataclass(frozen=True)
class RunnerConfig:
    screenshots: Literal["every_step", "on_failure", "off"] = "every_step"
    record_video: bool = True
    record_trace: bool = True
    step_timeout_s: float = 10.0
    network_allowlist: str = ""
    heartbeat_s: float = 20.0
    retry_delay_s: int = 2
    upload_attempts: int = 3
    upload_backoff_s: float = 0.5
    viewport: tuple[int, int] = (1280, 720)

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerConfig:
        return cls(
            screenshots=settings.screenshots,
            record_video=settings.record_video,
            record_trace=settings.record_trace,
            step_timeout_s=settings.step_timeout_s,
            network_allowlist=settings.network_allowlist,
            heartbeat_s=settings.heartbeat_s,
        )


class Disposition(StrEnum):
    done = "done"  # handled (executed, or a duplicate / stale message): delete the message
    busy = "busy"  # another worker holds this attempt: leave the message, it comes back later


@dataclass(frozen=True)
class Execution:
    disposition: Disposition
    run: Run | None = None


class StepFailed(DomainError):
    code = "step_failed"


class RunLost(Exception):
    """The stored run changed under us (ended elsewhere): stop without writing a result."""


@dataclass
class _Held:
    """The latest stored version of the run this worker holds (refreshed by every write)."""

    run: Run

    @property
    def cancel_requested(self) -> bool:
        return self.run.cancel_requested


@dataclass
class _PlanResult:
    status: RunStatus
    steps: list[StepResult]
    variables: dict[str, Any]
    error: str | None = None


@dataclass
class _Iteration:
    """Everything one pass over the plan needs."""

    page: Page
    guard: NetworkGuard
    renderer: Renderer
    masker: Masker
    collector: ArtifactCollector
    workdir: Path
    label: str  # "" or "row-1/" (artifact name prefix)
    http: httpx.AsyncClient
    start_url: str | None
    refusals: list[str] = field(default_factory=list)
    secret_locators: list[Locator] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left_s(self) -> float:
        return max(0.001, self._end - time.monotonic())

    def left_ms(self) -> float:
        return self.left_s() * 1000


class RunExecutor:
    def __init__(
        self,
        *,
        runs: RunService,
        artifacts: ArtifactStore,
        secrets: SecretSource,
        pool: BrowserPool,
        config: RunnerConfig | None = None,
    ) -> None:
        self._runs = runs
        self._artifacts = artifacts
        self._secrets = secrets
        self._pool = pool
        self.config = config or RunnerConfig()
        NetworkGuard.from_setting(self.config.network_allowlist)  # a bad allow-list fails at start-up

    # --------------------------------------------------------------------------- entry point

    async def execute(self, message: RunMessage, *, keepalive: Callable[[], None] | None = None) -> Execution:
        """Execute one run message. ``keepalive`` is called with every heartbeat (the worker extends the
        message's visibility with it)."""
        run = await asyncio.to_thread(self._runs.take, message)
        if run is None:
            return await self._not_taken(message)
        logger.info("run started", run_id=run.id, attempt=run.attempt, correlation_id=run.correlation_id)
        held = _Held(run)
        beat = asyncio.create_task(self._heartbeat(held, keepalive))
        try:
            final = await self._execute_held(held)
        except RunLost as exc:
            logger.warning("run ended elsewhere; result dropped", run_id=run.id, reason=str(exc))
            return Execution(Disposition.done, None)
        finally:
            beat.cancel()
        return Execution(Disposition.done, final)

    async def _not_taken(self, message: RunMessage) -> Execution:
        try:
            current = await asyncio.to_thread(self._runs.get_run, message.project_id, message.run_id)
        except NotFound:
            return Execution(Disposition.done)
        if current.status == RunStatus.running and current.attempt == message.attempt:
            logger.info("run is being executed by another worker", run_id=current.id, attempt=current.attempt)
            return Execution(Disposition.busy, current)
        logger.info(
            "duplicate or stale run message dropped",
            run_id=current.id,
            status=current.status.value,
            attempt=message.attempt,
            current_attempt=current.attempt,
        )
        return Execution(Disposition.done, current)

    async def _heartbeat(self, held: _Held, keepalive: Callable[[], None] | None) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            try:
                if keepalive is not None:
                    await asyncio.to_thread(keepalive)
                held.run = await asyncio.to_thread(self._runs.heartbeat, held.run)
            except Conflict:
                return  # the run moved on (ended or was taken over); the step loop notices on its next write
            except Exception as exc:
                logger.warning("heartbeat failed", run_id=held.run.id, error=str(exc))

    # ------------------------------------------------------------------------------ the run

    async def _execute_held(self, held: _Held) -> Run:
        run = held.run
        started = time.monotonic()
        deadline = started + run.timeout_s
        masker = Masker()
        collector = ArtifactCollector(
            self._artifacts,
            run_prefix(run.project_id, run.id, run.attempt),
            attempts=self.config.upload_attempts,
            backoff_s=self.config.upload_backoff_s,
        )
        rows: list[dict[str, Any] | None] = list(run.dataset) if run.dataset else [None]
        try:
            steps = list(run.spec.steps or [])
            if not steps:
                raise RenderError("the run's spec has no step plan")
            secret_names: set[str] = set()
            for row in rows:
                names = set(run.variables) | set(row or {})
                secret_names |= check_plan(steps, names, start_url=run.spec.start_url)
            secrets = await asyncio.to_thread(load_secrets, secret_names, self._secrets)
        except RenderError as exc:
            return await self._finish(held, RunStatus.error, error=exc.message, retryable=False)

        results: list[_PlanResult] = []
        iterations: list[Iteration] = []
        try:
            with tempfile.TemporaryDirectory(prefix="autotest-run-") as tmp:
                for index, row in enumerate(rows):
                    variables = {**run.variables, **(row or {})}
                    label = f"row-{index + 1}/" if run.dataset else ""
                    result = await self._run_plan(
                        held, steps, variables, secrets, masker, collector, Path(tmp), label, deadline
                    )
                    results.append(result)
                    if run.dataset:
                        iterations.append(
                            Iteration(
                                index=index,
                                variables=masker.data(row or {}),
                                status=result.status,
                                steps=result.steps,
                            )
                        )
                        await self._progress(held, iterations=iterations)
                    if result.status in (RunStatus.cancelled, RunStatus.timed_out):
                        break
                report = await collector.upload_all()
        except RunLost:
            raise
        except Exception as exc:
            logger.exception("the runner failed while executing a run", run_id=run.id)
            return await self._finish(
                held, RunStatus.error, error=masker.text(f"runner error: {type(exc).__name__}: {exc}")[:MAX_ERROR_CHARS]
            )

        status = next(s for s in SEVERITY if any(r.status == s for r in results) or s == RunStatus.passed)
        for result in results:
            for step in result.steps:
                if step.screenshot and not report.key_uploaded(step.screenshot):
                    step.screenshot = None
        error = next((r.error for r in results if r.error and r.status == status), None)
        if run.dataset:
            failed_rows = [str(it.index + 1) for it in iterations if it.status != RunStatus.passed]
            if failed_rows and status != RunStatus.passed:
                error = f"dataset rows {', '.join(failed_rows)} did not pass; first problem: {error}"
            changes: dict[str, Any] = {"iterations": iterations}
        else:
            changes = {"steps": results[0].steps, "variables": _storable(masker.data(results[0].variables))}
        return await self._finish(
            held,
            status,
            error=error,
            artifacts=[*run.artifacts, *report.uploaded],
            artifact_errors=[*run.artifact_errors, *(masker.text(e) for e in report.errors)],
            browser_version=self._pool.version,
            **changes,
        )

    async def _finish(self, held: _Held, status: RunStatus, *, retryable: bool = True, **changes: Any) -> Run:
        run = held.run
        try:
            if status in RETRYABLE and retryable and run.attempt < run.max_attempts:
                delay = self.config.retry_delay_s * run.attempt
                updated = await asyncio.to_thread(self._runs.requeue, run, delay_s=delay, **changes)
                logger.info(
                    "run attempt failed; retrying",
                    run_id=run.id,
                    status=status.value,
                    attempt=run.attempt,
                    next_attempt=updated.attempt,
                )
                return updated
            if status == RunStatus.passed and run.attempt > 1:
                changes["flaky"] = True
            updated = await asyncio.to_thread(self._runs.transition, run, status, **changes)
        except Conflict as exc:
            raise RunLost(exc.message) from exc
        logger.info(
            "run finished",
            run_id=run.id,
            status=status.value,
            attempt=run.attempt,
            duration_ms=updated.duration_ms,
            correlation_id=run.correlation_id,
        )
        return updated

    async def _refresh(self, held: _Held) -> None:
        current = await asyncio.to_thread(self._runs.get_run, held.run.project_id, held.run.id)
        if current.status != RunStatus.running or current.attempt != held.run.attempt:
            raise RunLost(f"run {current.id} is now {current.status.value} (attempt {current.attempt})")
        held.run = current

    async def _progress(self, held: _Held, **changes: Any) -> None:
        try:
            held.run = await asyncio.to_thread(self._runs.update_progress, held.run, **changes)
        except Conflict as exc:
            raise RunLost(exc.message) from exc

    # ------------------------------------------------------------------------------ one plan

    async def _run_plan(
        self,
        held: _Held,
        steps: list[Step],
        variables: dict[str, Any],
        secrets: dict[str, str],
        masker: Masker,
        collector: ArtifactCollector,
        tmp: Path,
        label: str,
        deadline: float,
    ) -> _PlanResult:
        workdir = tmp / (label.strip("/") or "main")
        workdir.mkdir(parents=True, exist_ok=True)
        renderer = Renderer(variables, secrets, masker)
        guard = NetworkGuard.from_setting(self.config.network_allowlist)
        await self._pool.browser()  # launched once; tells whether ffmpeg (video) is available
        record_video = self.config.record_video and self._pool.video_available
        options: dict[str, Any] = {
            "viewport": {"width": self.config.viewport[0], "height": self.config.viewport[1]},
            "service_workers": "block",  # a service worker would bypass the network guard
            "accept_downloads": False,
        }
        if record_video:
            options["record_video_dir"] = str(workdir / "video")
        refusals: list[str] = []
        network: list[str] = []

        def refused(message: str) -> None:
            refusals.append(message)
            network.append(_stamp(f"REFUSED by the egress proxy: {message}"))

        proxy = EgressProxy(guard, refused)
        # Every connection of the context goes through the proxy (loopback too: "<-loopback>"), so redirect
        # hops, which context.route never sees, pass the guard as well.
        options["proxy"] = {"server": await proxy.start(), "bypass": "<-loopback>"}
        try:
            async with self._pool.context(**options) as context, httpx.AsyncClient(trust_env=False) as http:
                page = await context.new_page()
                it = _Iteration(
                    page=page,
                    guard=guard,
                    renderer=renderer,
                    masker=masker,
                    collector=collector,
                    workdir=workdir,
                    label=label,
                    http=http,
                    start_url=held.run.spec.start_url,
                    refusals=refusals,
                    network=network,
                )
                await self._instrument(context, it)
                if self.config.record_trace:
                    await context.tracing.start(screenshots=True, snapshots=True, sources=False)
                try:
                    result = await self._steps(held, steps, it, deadline)
                finally:
                    await self._collect(context, it, record_video)
        finally:
            await proxy.close()
        return result

    async def _instrument(self, context: BrowserContext, it: _Iteration) -> None:
        async def guard_route(route: Route) -> None:
            url = route.request.url
            if urlsplit(url).scheme.lower() not in PASSTHROUGH_SCHEMES:
                try:
                    await it.guard.check_async(url)
                except NetworkRefused as exc:
                    it.refusals.append(exc.message)
                    it.network.append(_stamp(f"REFUSED {route.request.method} {url}: {exc.message}"))
                    await _quietly(route.abort("blockedbyclient"))
                    return
            await _quietly(route.continue_())

        async def guard_socket(ws: WebSocketRoute) -> None:
            try:
                await it.guard.check_async(ws.url)
            except NetworkRefused as exc:
                it.refusals.append(exc.message)
                it.network.append(_stamp(f"REFUSED websocket {ws.url}: {exc.message}"))
                await _quietly(ws.close(code=1008, reason="refused by the autotest network guard"))
                return
            ws.connect_to_server()

        await context.route("**/*", guard_route)
        await context.route_web_socket("**/*", guard_socket)

        def log(lines: list[str], text: str) -> None:
            if len(lines) < MAX_LOG_LINES:
                lines.append(_stamp(text))

        page = it.page
        page.on("console", lambda msg: log(it.console, f"[{msg.type}] {msg.text}"))
        page.on("pageerror", lambda err: log(it.console, f"[pageerror] {err}"))
        page.on(
            "requestfailed",
            lambda req: log(it.network, f"FAILED {req.method} {req.url}: {req.failure or 'unknown error'}"),
        )
        page.on(
            "response",
            lambda resp: (
                log(it.network, f"HTTP {resp.status} {resp.request.method} {resp.url}") if resp.status >= 400 else None
            ),
        )

    async def _collect(self, context: BrowserContext, it: _Iteration, record_video: bool) -> None:
        """Trace, video and logs of one iteration, into the collector. Never raises."""
        try:
            if self.config.record_trace:
                trace = it.workdir / "trace.zip"
                await context.tracing.stop(path=trace)
                await asyncio.to_thread(mask_zip, trace, it.masker)
                it.collector.add(f"{it.label}trace.zip", "trace", trace)
        except Exception as exc:
            logger.warning("could not save the trace", error=str(exc))
        video = it.page.video if record_video else None
        try:
            await context.close()
            if video is not None:
                path = Path(await video.path())
                it.collector.add(f"{it.label}video.webm", "video", path)
        except Exception as exc:
            logger.warning("could not save the video", error=str(exc))
        for name, lines in (("console.log", it.console), ("network.log", it.network)):
            if lines:
                path = it.workdir / name
                path.write_text(it.masker.text("\n".join(lines)) + "\n")
                it.collector.add(f"{it.label}{name}", "log", path)

    # ------------------------------------------------------------------------------ the steps

    async def _steps(self, held: _Held, steps: list[Step], it: _Iteration, deadline: float) -> _PlanResult:
        results: list[StepResult] = []
        status = RunStatus.passed
        error: str | None = None

        if it.start_url and not isinstance(steps[0], Goto):
            try:
                url = it.renderer.render(it.start_url)
                await it.guard.check_async(url)
                await it.page.goto(url, timeout=self._step_timeout(None, deadline) * 1000)
            except (DomainError, PlaywrightError) as exc:
                message = it.masker.text(f"could not open start_url: {_message(exc)}")
                return _PlanResult(RunStatus.failed, _skipped(steps, 0, it.masker), it.renderer.variables, message)

        for index, step in enumerate(steps):
            if held.cancel_requested:
                status, error = RunStatus.cancelled, "cancelled by request"
                results += _skipped(steps, index, it.masker)
                break
            if time.monotonic() >= deadline:
                status = RunStatus.timed_out
                error = f"the run's timeout of {held.run.timeout_s}s passed before step {index} ({step.action})"
                results += _skipped(steps, index, it.masker)
                break
            result = await self._step(index, step, it, deadline)
            results.append(result)
            if held.run.dataset:
                await self._refresh(held)  # rows report through ``iterations``; just re-read for cancellation
            else:
                await self._progress(held, steps=results)
            if result.status != "passed":
                where = f"step {index} ({step.action}{': ' + result.target if result.target else ''})"
                if time.monotonic() >= deadline:
                    status = RunStatus.timed_out
                    error = f"the run's timeout of {held.run.timeout_s}s passed during {where}: {result.error}"
                else:
                    status = RunStatus.error if result.status == "error" else RunStatus.failed
                    error = f"{where} failed: {result.error}"
                results += _skipped(steps, index + 1, it.masker)
                break
        return _PlanResult(status, results, it.renderer.variables, error[:MAX_ERROR_CHARS] if error else None)

    def _step_timeout(self, step: Step | None, deadline: float) -> float:
        wanted = (step.timeout_s if step is not None else None) or self.config.step_timeout_s
        return max(0.001, min(wanted, deadline - time.monotonic()))

    async def _step(self, index: int, step: Step, it: _Iteration, deadline: float) -> StepResult:
        masker = it.masker
        started = time.perf_counter()
        refusals_before = len(it.refusals)
        locator: str | None = None
        screenshot: str | None = None
        status: Literal["passed", "failed", "error"] = "passed"
        error: str | None = None
        target_text = describe_target(getattr(step, "target", None))
        try:
            rendered = it.renderer.render_step(step)
            target_text = describe_target(getattr(rendered, "target", None))
            budget = _Budget(self._step_timeout(step, deadline))
            try:
                locator, screenshot = await asyncio.wait_for(
                    self._perform(index, rendered, step, it, budget), timeout=budget.seconds + 1.0
                )
            except TimeoutError as exc:  # asyncio's: the step overran its budget without Playwright noticing
                raise StepFailed(f"the step did not finish within {budget.seconds:g}s") from exc
        except RenderError as exc:
            status, error = "error", exc.message
        except (DomainError, AssertionError, PlaywrightError) as exc:
            status, error = "failed", _message(exc)
            if isinstance(exc, PlaywrightError) and not isinstance(exc, PlaywrightTimeout) and _is_crash(exc):
                status = "error"
        except Exception as exc:  # a bug or an unexpected failure: the run ends as an error
            logger.exception("unexpected error in a step", step=index, action=step.action)
            status, error = "error", f"{type(exc).__name__}: {exc}"
        new_refusals = it.refusals[refusals_before:]
        if new_refusals:
            refused = "; ".join(dict.fromkeys(new_refusals))
            if status == "passed":
                status, error = "failed", refused
            elif error is not None and refused not in error:
                error = f"{refused} ({error})"
        if step.action in BROWSER_ACTIONS and step.action != "screenshot":
            screenshot = await self._step_screenshot(index, it, failed=status != "passed") or screenshot
        return StepResult(
            index=index,
            action=step.action,
            description=masker.maybe(step.description),
            target=masker.maybe(target_text),
            locator=masker.maybe(locator),
            status=status,
            duration_ms=int((time.perf_counter() - started) * 1000),
            error=masker.text(error)[:MAX_ERROR_CHARS] if error else None,
            screenshot=screenshot,
        )

    async def _step_screenshot(self, index: int, it: _Iteration, *, failed: bool) -> str | None:
        mode = self.config.screenshots
        if mode == "off" or (mode == "on_failure" and not failed):
            return None
        name = f"step-{index:03d}-failure.png" if failed else f"step-{index:03d}.png"
        path = it.workdir / "screenshots" / name
        try:
            await it.page.screenshot(
                path=path,
                full_page=failed,
                timeout=FAILURE_SCREENSHOT_TIMEOUT_MS if failed else SCREENSHOT_TIMEOUT_MS,
                mask=it.secret_locators or None,
            )
        except PlaywrightError as exc:
            logger.warning("could not take a screenshot", step=index, error=str(exc).splitlines()[0])
            return None
        return it.collector.add(f"{it.label}screenshots/{name}", "screenshot", path)

    async def _perform(
        self, index: int, step: Step, original: Step, it: _Iteration, budget: _Budget
    ) -> tuple[str | None, str | None]:
        """Run one rendered step; returns (resolved locator, screenshot key)."""
        page = it.page
        if isinstance(step, Goto):
            url = self._absolute(step.url, it)
            await it.guard.check_async(url)
            await page.goto(url, timeout=budget.left_ms())
            return None, None
        if isinstance(step, Request):
            outcome = await run_request(step, client=it.http, guard=it.guard, timeout_s=budget.left_s())
            if outcome.failures:
                raise RequestFailed(f"{outcome.summary()}: " + "; ".join(outcome.failures))
            it.renderer.variables.update(outcome.variables)
            return None, None
        if isinstance(step, WaitFor) and step.ms is not None:
            await asyncio.sleep(min(step.ms / 1000, budget.left_s()))
            return None, None
        if isinstance(step, ExpectUrl):
            await expect(page).to_have_url(_url_pattern(step.pattern), timeout=budget.left_ms())
            return None, None
        if isinstance(step, ExpectTitle):
            await expect(page).to_have_title(re.compile(re.escape(step.text)), timeout=budget.left_ms())
            return None, None
        if isinstance(step, Screenshot):
            name = f"{step.name or f'step-{index:03d}'}.png"
            path = it.workdir / "screenshots" / name
            await page.screenshot(path=path, full_page=True, timeout=budget.left_ms(), mask=it.secret_locators or None)
            return None, it.collector.add(f"{it.label}screenshots/{name}", "screenshot", path)
        if isinstance(step, Press) and step.target is None:
            await page.keyboard.press(step.key)
            return None, None
        if isinstance(step, ExpectText) and step.target is None:
            await _expect_text(page.locator("body"), step.text, budget, "the page")
            return None, None

        target = getattr(step, "target", None)
        if target is None:  # every remaining action has a target (the models guarantee it)
            raise StepFailed(f"step {step.action} needs a target")
        resolved = await resolve(page, target, timeout_s=budget.left_s())
        loc = resolved.locator
        ms = budget.left_ms()
        if isinstance(step, Click):
            await loc.click(timeout=ms)
        elif isinstance(step, Fill):
            await loc.fill(step.value, timeout=ms)
            if placeholders(getattr(original, "value", ""))[1]:
                it.secret_locators.append(loc)
        elif isinstance(step, Press):
            await loc.press(step.key, timeout=ms)
        elif isinstance(step, Select):
            await loc.select_option(step.value, timeout=ms)
        elif isinstance(step, Check):
            await loc.check(timeout=ms)
        elif isinstance(step, Uncheck):
            await loc.uncheck(timeout=ms)
        elif isinstance(step, Hover):
            await loc.hover(timeout=ms)
        elif isinstance(step, WaitFor | ExpectVisible):
            await expect(loc).to_be_visible(timeout=ms)
        elif isinstance(step, ExpectText):
            await _expect_text(loc, step.text, budget, resolved.expression)
        elif isinstance(step, Extract):
            value = await loc.evaluate(
                "e => (['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName) ? e.value : e.innerText)",
                timeout=ms,
            )
            it.renderer.variables[step.var] = str(value).strip()
        else:
            raise StepFailed(f"the runner does not know the action {step.action!r}")
        return resolved.expression, None

    @staticmethod
    def _absolute(url: str, it: _Iteration) -> str:
        if urlsplit(url).scheme:
            return url
        current = it.page.url
        base = current if urlsplit(current).scheme in ("http", "https") else it.start_url
        if not base:
            raise StepFailed(f"{url!r} is a relative URL and the test has no start_url to resolve it against")
        return urljoin(it.renderer.render(base), url)


# ---------------------------------------------------------------------------------- helpers


async def _expect_text(loc: Locator, text: str, budget: _Budget, where: str) -> None:
    try:
        await expect(loc).to_contain_text(text, timeout=budget.left_ms())
    except AssertionError as exc:
        actual = ""
        with contextlib.suppress(PlaywrightError):
            actual = " ".join((await loc.inner_text(timeout=1000)).split())
        shown = actual[:300] + ("..." if len(actual) > 300 else "")
        raise StepFailed(
            f"expected {where} to contain the text {text!r} within {budget.seconds:g}s; "
            + (f"it shows: {shown!r}" if actual else "it has no text")
        ) from exc


def _url_pattern(pattern: str) -> re.Pattern[str]:
    """``expect_url``'s pattern is a regular expression searched in the URL; text that is not a valid
    regular expression is matched literally."""
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(re.escape(pattern))


def _message(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    text = str(exc).strip()
    # Playwright appends a call log; the first lines say what happened.
    head = text.split("Call log:", 1)[0].strip()
    head = re.sub(r"Timeout (\d+)\.\d+ms", r"Timeout \1ms", head)
    lines = [line for line in head.splitlines() if line.strip()]
    return " ".join(lines[:6])[:MAX_ERROR_CHARS] or type(exc).__name__


def _is_crash(exc: PlaywrightError) -> bool:
    text = str(exc)
    return "has been closed" in text or "Browser closed" in text or "Target crashed" in text


def _skipped(steps: list[Step], start: int, masker: Masker) -> list[StepResult]:
    return [
        StepResult(
            index=i,
            action=step.action,
            description=masker.maybe(step.description),
            target=masker.maybe(describe_target(getattr(step, "target", None))),
            status="skipped",
        )
        for i, step in enumerate(steps)
        if i >= start
    ]


def _storable(variables: dict[str, Any]) -> dict[str, VarValue]:
    return {k: v if isinstance(v, str | int | float | bool) else json.dumps(v) for k, v in variables.items()}


def _stamp(text: str) -> str:
    return f"{time.strftime('%H:%M:%S')} {text}"


async def _quietly(awaitable: Any) -> None:
    """Route calls race with page teardown; a closed page is not an error worth reporting."""
    with contextlib.suppress(PlaywrightError):
        await awaitable
