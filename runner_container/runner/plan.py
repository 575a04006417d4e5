"""One pass over a run's step plan (the run, or one dataset row of it): steps in order until one fails, the
run is cancelled or its timeout passes. A browser run passes in a fresh browser session; an API run (only
``request`` steps) with httpx alone, without touching the browser pool."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.async_api import Page

from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.healing import TargetFinder
from runner_container.runner.masking import Masker
from runner_container.runner.onpage import SecretScanner
from runner_container.runner.render import Renderer
from runner_container.runner.session import PageLogs, Recorder, browser_page
from runner_container.runner.steps import MAX_ERROR_CHARS, StepContext, StepRunner, skipped
from shared.apitests.checks import ResponseChecker
from shared.apitests.http import HttpPool
from shared.models.plans import BROWSER_ACTIONS, Goto, Step
from shared.models.runs import RunStatus, StepResult
from shared.models.tests import TestKind
from shared.netguard import NetworkGuard


def needs_browser(kind: TestKind, steps: list[Step]) -> bool:
    """An API run whose steps are all ``request`` steps runs without a browser; anything else needs one."""
    return kind != TestKind.api or any(step.action in BROWSER_ACTIONS for step in steps)


@dataclass
class PlanResult:
    status: RunStatus
    steps: list[StepResult]
    variables: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class PlanPass:
    """What one pass needs to know about the run it belongs to."""

    steps: list[Step]
    variables: dict[str, Any]
    secrets: dict[str, str]
    masker: Masker
    recorder: Recorder
    start_url: str | None
    deadline: float  # time.monotonic() at which the run's timeout passes
    timeout_s: int  # the run's timeout, for messages
    browser: bool
    cancelled: Callable[[], bool]  # whether cancellation was requested (checked between steps)
    after_step: Callable[[list[StepResult]], Awaitable[None]]  # reports progress after every step
    http: HttpPool  # the run's connections, network guard and rate limit (every pass of the run shares them)
    finder: TargetFinder | None = None  # the run's element cache and healer (None: neither)


class PlanRunner:
    def __init__(self, config: RunnerConfig, pool: BrowserPool, checker: ResponseChecker) -> None:
        self._config = config
        self._pool = pool
        self._checker = checker
        self._steps = StepRunner(step_timeout_s=config.step_timeout_s, screenshots=config.screenshots)

    def http_pool(self, *, rate_limit: float | None = None) -> HttpPool:
        """A run's connections (with its network guard, one per run) and rate limit, for all its passes."""
        guard = NetworkGuard.from_setting(self._config.network_allowlist, self._config.network_refused_local_ports)
        return HttpPool(guard, rate_limit=rate_limit)

    async def run(self, plan: PlanPass) -> PlanResult:
        recorder = plan.recorder
        if plan.browser:  # (an API pass writes no files: no directory per dataset row)
            recorder.workdir.mkdir(parents=True, exist_ok=True)
        guard = plan.http.guard
        renderer = Renderer(plan.variables, plan.secrets, plan.masker)  # the masker learns the secrets here
        logs = PageLogs(plan.masker)
        finder = plan.finder or TargetFinder()

        def context(page: Page | None, http: httpx.AsyncClient) -> StepContext:
            return StepContext(
                page=page,
                guard=guard,
                renderer=renderer,
                masker=plan.masker,
                collector=recorder.collector,
                workdir=recorder.workdir,
                label=recorder.label,
                http=http,
                start_url=plan.start_url,
                logs=logs,
                scanner=SecretScanner(plan.masker),
                checker=self._checker,
                watch=self._config.record_video or self._config.record_trace,
                finder=finder,
                limiter=plan.http.limiter,
            )

        if not plan.browser:
            async with plan.http.client() as http:
                return await self._run_steps(plan, context(None, http))
        async with (
            browser_page(self._pool, self._config, guard, logs, recorder) as page,
            plan.http.client() as http,
        ):
            return await self._run_steps(plan, context(page, http))

    async def _run_steps(self, plan: PlanPass, it: StepContext) -> PlanResult:
        steps = plan.steps
        results: list[StepResult] = []
        status = RunStatus.passed
        error: str | None = None

        if it.page is not None and it.start_url and not isinstance(steps[0], Goto):
            failure = await self._steps.open_start_url(it.page, it, plan.deadline)
            if failure is not None:
                return PlanResult(RunStatus.failed, skipped(steps, 0, it.masker), it.renderer.variables, failure)

        for index, step in enumerate(steps):
            if plan.cancelled():
                status, error = RunStatus.cancelled, "cancelled by request"
                results += skipped(steps, index, it.masker)
                break
            if time.monotonic() >= plan.deadline:
                status = RunStatus.timed_out
                error = f"the run's timeout of {plan.timeout_s}s passed before step {index + 1} ({step.action})"
                results += skipped(steps, index, it.masker)
                break
            result = await self._steps.run(index, step, it, plan.deadline)
            results.append(result)
            await plan.after_step(results)
            if result.status != "passed":
                where = f"step {index + 1} ({step.action}{': ' + result.target if result.target else ''})"
                if time.monotonic() >= plan.deadline:
                    status = RunStatus.timed_out
                    error = f"the run's timeout of {plan.timeout_s}s passed during {where}: {result.error}"
                else:
                    status = RunStatus.error if result.status == "error" else RunStatus.failed
                    error = f"{where} failed: {result.error}"
                results += skipped(steps, index + 1, it.masker)
                break
        error = it.masker.clip(error, MAX_ERROR_CHARS) if error else None  # masked parts, masked again, then cut
        return PlanResult(status, results, it.renderer.variables, error)
