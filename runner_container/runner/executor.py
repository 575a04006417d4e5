"""Execute one attempt of a run: take it, render it, pass over its plan (once per dataset row), upload
artifacts and the report, store the result (or start the next attempt).

The executor is the runner's one job; ``worker.py`` (SQS long-poll, Fargate) and ``lambda_handler.py``
(SQS event source) only feed it messages and decide what happens to the message afterwards. One pass over
the plan is ``plan.py``'s, one step ``steps.py``'s, the browser session ``session.py``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from runner_container.runner.artifacts import ArtifactCollector, ArtifactKind, UploadReport, run_prefix
from runner_container.runner.browser import BrowserPool
from runner_container.runner.config import RunnerConfig
from runner_container.runner.exchanges import Exchanges
from runner_container.runner.healing import TargetFinder
from runner_container.runner.masking import Masker, origin
from runner_container.runner.plan import PlanPass, PlanResult, PlanRunner, needs_browser
from runner_container.runner.render import RenderError, load_secrets
from runner_container.runner.report import html_report, junit_report
from runner_container.runner.session import Recorder
from runner_container.runner.steps import MAX_ERROR_CHARS, skipped
from shared.apitests.checks import ResponseChecker
from shared.apitests.http import HttpPool
from shared.errors import Conflict, NotFound
from shared.ids import utcnow
from shared.models.common import VarValue
from shared.models.messages import RunMessage
from shared.models.plans import ExpectUrl, Request, Step
from shared.models.runs import Iteration, Run, RunStatus, StepResult
from shared.netguard import NetworkGuard
from shared.observability import logger
from shared.placeholders import secrets_used
from shared.planning.fuzzy import FuzzyHealer
from shared.ports import ArtifactStore, ElementCache, Healer
from shared.services.runs import RunService, is_flaky
from shared.services.secrets import Secrets

#: how iteration statuses combine into the run's status, most significant first
SEVERITY = (RunStatus.cancelled, RunStatus.timed_out, RunStatus.error, RunStatus.failed, RunStatus.passed)


#: how often a data-driven run writes the rows that ended: rows run at once, and a write of the whole list per row
#: would grow with the square of the rows
PROGRESS_INTERVAL_S = 1.0
#: how often a run without a dataset writes its step results: after a step, unless the last write was sooner than
#: this (then the steps that end meanwhile go in one write): at most one write per step, fewer when steps are fast
STEP_PROGRESS_INTERVAL_S = 0.25
#: how often a runner reads whether a cancel was asked for the run it holds (a small read of three fields)
CANCEL_CHECK_S = 0.5
#: the rows that did not pass a run's error names (the rest are counted)
NAMED_ROWS = 20


class Disposition(StrEnum):
    done = "done"  # handled (executed, or a duplicate / stale message): delete the message
    busy = "busy"  # another worker holds this attempt: leave the message, it comes back later


@dataclass(frozen=True)
class Execution:
    disposition: Disposition
    run: Run | None = None
    #: a batch message's: what became of each of its runs, in order (``run`` is the last one's)
    members: tuple[Execution, ...] = ()


class Abandoned(Exception):
    """The runner is stopping at once (local mode's second Ctrl-C): the attempt it held is left as it is, unwritten,
    and its message is not deleted, so it is executed again as the next attempt (an interruption: no retry used)
    instead of ending on whatever the shutdown did to its browser."""


class RunLost(Exception):
    """The stored run changed under us (ended elsewhere): stop without writing a result."""


@dataclass
class _Held:
    """The latest stored version of the run this worker holds (refreshed by each heartbeat), and whether a cancel
    was asked for since (read by :class:`_Progress`)."""

    run: Run
    cancel_seen: bool = False

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_seen or self.run.cancel_requested


class _Progress:
    """A held run's progress, written behind its steps: the step loop hands over its latest results with
    :meth:`note` (a function that makes the fields, called when they are written) and goes on at once; one task
    writes them, reading nothing back, at most once per ``interval_s`` (what ends meanwhile goes in the next write,
    so fast steps share writes), and at least every ``check_s`` reads whether a cancel was asked for (a small
    read). A write or read that finds the run moved on (ended elsewhere, taken over) stops it: :meth:`check`
    raises :class:`RunLost` in the step loop then. Another failure of a progress write is logged and left to the
    next one: the run's final write holds everything anyway."""

    def __init__(self, runs: RunService, held: _Held, *, interval_s: float, check_s: float) -> None:
        self._runs = runs
        self._held = held
        self._interval_s = interval_s
        self._check_s = check_s
        self._pending: Callable[[], dict[str, Any]] | None = None
        self._wake = asyncio.Event()
        self._in_flight: asyncio.Future[Any] | None = None
        self._lost: Conflict | None = None
        self._task = asyncio.create_task(self._loop())

    def note(self, fields: Callable[[], dict[str, Any]]) -> None:
        self._pending = fields
        self._wake.set()

    def check(self) -> None:
        if self._lost is not None:
            raise RunLost(self._lost.message) from self._lost

    async def close(self) -> None:
        """Stop writing (what is pending is dropped: the final write says it), after the write in flight."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._in_flight is not None:
            try:
                await self._in_flight
            except Exception as exc:  # a late progress write that lost to the final one: nothing to keep
                logger.info("a late progress write lost", run_id=self._held.run.id, error=str(exc))

    async def _call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # shielded: a close() while the store is called waits for the call instead of leaving it running
        self._in_flight = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
        try:
            return await asyncio.shield(self._in_flight)
        finally:
            if self._in_flight.done():
                self._in_flight = None

    async def _loop(self) -> None:
        checked = time.monotonic()
        while True:
            until_check = checked + self._check_s - time.monotonic()
            if self._pending is None and until_check > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(until_check):
                        await self._wake.wait()
            self._wake.clear()
            wrote = False
            try:
                if self._pending is not None:
                    make, self._pending = self._pending, None
                    await self._call(self._runs.record_progress, self._held.run, **make())
                    wrote = True
                if time.monotonic() - checked >= self._check_s:
                    control = await self._call(self._runs.control, self._held.run)
                    checked = time.monotonic()
                    self._held.cancel_seen = self._held.cancel_seen or control.cancel_requested
            except Conflict as exc:
                self._lost = exc
                return
            except Exception as exc:
                logger.warning("could not write a run's progress", run_id=self._held.run.id, error=str(exc))
                checked = time.monotonic()  # not again at once
            if wrote:
                await asyncio.sleep(self._interval_s)


class RunExecutor:
    def __init__(
        self,
        *,
        runs: RunService,
        artifacts: ArtifactStore,
        secrets: Secrets,
        pool: BrowserPool,
        config: RunnerConfig | None = None,
        checker: ResponseChecker | None = None,
        healer: Healer | None = None,
        element_cache: ElementCache | None = None,
    ) -> None:
        self._runs = runs
        self._artifacts = artifacts
        self._secrets = secrets
        self._pool = pool
        self.config = config or RunnerConfig()
        # a bad allow-list or port list fails at start-up
        NetworkGuard.from_setting(self.config.network_allowlist, self.config.network_refused_local_ports)
        # the worker processes that check responses: started when the first check needs one
        self.checker = checker or ResponseChecker()
        self._plans = PlanRunner(self.config, pool, self.checker)
        # healing: the given healer (Bedrock, wired by the runtime), else fuzzy matching; none when "off"
        self._healer: Healer | None = None if self.config.healer == "off" else healer or FuzzyHealer()
        if self.config.healer == "bedrock" and healer is None:
            logger.warning("the healer setting is bedrock but no Bedrock healer was given; healing by fuzzy matching")
        # the element cache of saved tests' steps (None: every target is resolved afresh)
        self._element_cache = element_cache
        self._abandoned = False

    def abandon(self) -> None:
        """Write nothing more about the runs held now: each write from here raises :class:`Abandoned`."""
        self._abandoned = True

    def _check_abandoned(self, held: _Held) -> None:
        if self._abandoned:
            raise Abandoned(f"the runner stopped at once while it ran {held.run.id} (attempt {held.run.attempt})")

    def close(self) -> None:
        """Stop the processes that check responses (the browser pool is the caller's to close)."""
        self.checker.close()

    # --------------------------------------------------------------------------- entry point

    async def execute(self, message: RunMessage, *, keepalive: Callable[[], None] | None = None) -> Execution:
        """Execute one run message. ``keepalive`` is called with every heartbeat (the worker extends the
        message's visibility with it). A batch message's runs are executed in turn (``execute_batch``)."""
        if message.batch:
            return await self.execute_batch(message, keepalive=keepalive)
        return await self._execute_one(message, keepalive)

    async def execute_batch(self, message: RunMessage, *, keepalive: Callable[[], None] | None = None) -> Execution:
        """Execute the runs of a batch message one after another, each taken on its own (a duplicate, a cancelled
        or an ended run is skipped), each in a fresh context of this runner's one browser. The message is
        kept alive before each run and by each run's heartbeats. ``busy`` when another worker holds one of them
        (the message comes back, and what ran is skipped then). A run whose execution raised does not stop the
        others; the first such error goes up once they are done (the message comes back: nothing that ended
        runs twice)."""
        done: list[Execution] = []
        failure: Exception | None = None
        for index, member in enumerate(message.members()):
            if index and keepalive is not None:
                try:
                    await asyncio.to_thread(keepalive)
                except Exception as exc:
                    logger.warning("could not extend a batch message", run_id=member.run_id, error=str(exc))
            try:
                done.append(await self._execute_one(member, keepalive))
            except Abandoned:
                raise
            except Exception as exc:
                logger.exception("a run of a batch failed; the others go on", run_id=member.run_id)
                failure = failure or exc
        if failure is not None:
            raise failure
        busy = any(e.disposition == Disposition.busy for e in done)
        return Execution(
            Disposition.busy if busy else Disposition.done, done[-1].run if done else None, members=tuple(done)
        )

    async def _execute_one(self, message: RunMessage, keepalive: Callable[[], None] | None) -> Execution:
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
            if self._abandoned:
                return
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
        deadline = time.monotonic() + run.timeout_s
        masker = Masker()
        rows: list[dict[str, Any] | None] = list(run.dataset) if run.dataset else [None]
        steps = list(run.spec.steps or [])
        try:
            if not steps:
                raise RenderError("the run's spec has no step plan")
            if any(isinstance(step, Request | ExpectUrl) for step in steps):
                self.checker.warm()  # the worker that checks responses is ready by the first response
            secret_names = secrets_used(steps, start_url=run.spec.start_url)
            # the run's project's secrets only: another project's of the same name are never looked at
            secrets = await asyncio.to_thread(load_secrets, secret_names, self._secrets, project_id=run.project_id)
        except RenderError as exc:  # nothing ran: every step is recorded as skipped, the error says why
            return await self._conclude(
                held, RunStatus.error, masker, retryable=False, error=exc.message, **_not_run(run, steps, masker)
            )

        browser = needs_browser(run.kind, steps)
        finder = TargetFinder(
            healer=self._healer,
            cache=self._element_cache,
            project_id=run.project_id,
            test_id=run.test_id,
            ttl_days=self.config.element_cache_ttl_days,
        )
        collector = self._collector(run)
        try:
            with tempfile.TemporaryDirectory(prefix="autotest-run-") as tmp:
                results, iterations = await self._rows(
                    held, rows, steps, secrets, masker, collector, Path(tmp), deadline=deadline, browser=browser,
                    finder=finder,
                )  # fmt: skip
                report = await collector.upload_all()
                images = _failure_images(results, report, collector)
        except (RunLost, Abandoned):
            raise
        except Exception as exc:
            if self._abandoned:
                raise Abandoned(f"the runner stopped at once while it ran {run.id}") from exc
            problem = masker.clip(f"runner error: {type(exc).__name__}: {exc}", MAX_ERROR_CHARS)
            logger.error("the runner failed while executing a run", run_id=run.id, error=problem, origin=origin(exc))
            stats = finder.counters.added_to(run.stats)
            return await self._conclude(held, RunStatus.error, masker, error=problem, stats=stats)

        status = next(s for s in SEVERITY if any(r.status == s for r in results) or s == RunStatus.passed)
        for result in results:
            for step in result.steps:
                if step.screenshot and not report.key_uploaded(step.screenshot):
                    step.screenshot = None
        error = next((r.error for r in results if r.error and r.status == status), None)
        if run.dataset:
            failed_rows = [str(it.index + 1) for it in iterations if it.status != RunStatus.passed]
            if failed_rows and status != RunStatus.passed:
                named = ", ".join(failed_rows[:NAMED_ROWS])
                if len(failed_rows) > NAMED_ROWS:
                    named += f" and {len(failed_rows) - NAMED_ROWS} more"
                which = f"dataset {'row' if len(failed_rows) == 1 else 'rows'} {named}"
                error = f"{which} did not pass (of {len(rows)}); first problem: {error}"
            changes: dict[str, Any] = {"iterations": iterations}
        else:
            final = results[0].variables
            made = sorted(k for k, v in final.items() if k not in run.variables or run.variables[k] != v)
            changes = {"steps": results[0].steps, "variables": _storable(masker.data(final)), "extracted": made}
        return await self._conclude(
            held,
            status,
            masker,
            images=images,
            exchanges=collector.exchanges,
            error=error,
            artifacts=[*run.artifacts, *report.uploaded],
            artifact_errors=[*run.artifact_errors, *(masker.text(e) for e in report.errors)],
            browser_version=self._pool.version if browser else None,
            stats=finder.counters.added_to(run.stats),  # the run's (planner calls) plus this attempt's
            **changes,
        )

    async def _rows(
        self,
        held: _Held,
        rows: list[dict[str, Any] | None],
        steps: list[Step],
        secrets: dict[str, str],
        masker: Masker,
        collector: ArtifactCollector,
        tmp: Path,
        *,
        deadline: float,
        browser: bool,
        finder: TargetFinder,
    ) -> tuple[list[PlanResult], list[Iteration]]:
        """One pass per dataset row (one pass for a run without a dataset), up to the run's ``concurrency`` at
        once, all of them sharing the run's connections and rate limit. Results come back in dataset order.
        Once a row ends ``cancelled`` or ``timed_out``, rows not begun yet do not begin: they are recorded with
        that status, every step skipped."""
        run = held.run
        dataset = bool(run.dataset)
        results: list[PlanResult | None] = [None] * len(rows)
        iterations: dict[int, Iteration] = {}
        gate = asyncio.Semaphore(max(1, min(run.concurrency, len(rows))))
        stopped: list[RunStatus] = []
        interval = PROGRESS_INTERVAL_S if dataset else STEP_PROGRESS_INTERVAL_S
        progress = _Progress(self._runs, held, interval_s=interval, check_s=CANCEL_CHECK_S)
        http = self._plans.http_pool(rate_limit=run.rate_limit)

        def checkpoint(changes: Callable[[], dict[str, Any]] | None = None) -> None:
            """After a step (or a row): raise if the runner stopped at once or the run ended elsewhere, else hand
            the run's progress to the writer (a dataset's rows, when ``changes`` is None)."""
            self._check_abandoned(held)
            progress.check()
            progress.note(changes or (lambda: {"iterations": [iterations[i] for i in sorted(iterations)]}))

        async def one(index: int, row: dict[str, Any] | None) -> None:
            async with gate:
                if stopped:
                    return
                label = f"row-{index + 1}/" if dataset else ""
                recorder = Recorder(collector, masker, tmp / (label.strip("/") or "main"), label)
                began = time.perf_counter()
                result = await self._plans.run(
                    self._pass(
                        held, steps, {**run.variables, **(row or {})}, secrets, recorder, deadline=deadline,
                        browser=browser, finder=finder, http=http, checkpoint=checkpoint,
                    )
                )  # fmt: skip
                results[index] = result
                if dataset:
                    iterations[index] = Iteration(
                        index=index,
                        variables=masker.data(row or {}),
                        status=result.status,
                        steps=result.steps,
                        duration_ms=int((time.perf_counter() - began) * 1000),
                    )
                    checkpoint()
                if result.status in (RunStatus.cancelled, RunStatus.timed_out):
                    stopped.append(result.status)

        try:
            async with asyncio.TaskGroup() as group:
                for index, row in enumerate(rows):
                    group.create_task(one(index, row))
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from None
        finally:
            await progress.close()
            await http.aclose()
        progress.check()
        done: list[PlanResult] = []
        for index, result in enumerate(results):
            if result is None:  # not begun: the run was cancelled or timed out before its turn
                status = stopped[0] if stopped else RunStatus.cancelled
                result = PlanResult(status, skipped(steps, 0, masker), {})
                if dataset:
                    row = rows[index] or {}
                    iterations[index] = Iteration(
                        index=index, variables=masker.data(row), status=status, steps=result.steps
                    )
            done.append(result)
        return done, [iterations[i] for i in sorted(iterations)]

    def _pass(
        self,
        held: _Held,
        steps: list[Step],
        variables: dict[str, Any],
        secrets: dict[str, str],
        recorder: Recorder,
        *,
        deadline: float,
        browser: bool,
        http: HttpPool,
        checkpoint: Callable[[Callable[[], dict[str, Any]] | None], None],
        finder: TargetFinder | None = None,
    ) -> PlanPass:
        async def after_step(results: list[StepResult]) -> None:
            if held.run.dataset:
                # rows report through ``iterations``, now and then (rows run at once, and a write per step of
                # each would cost more than the steps)
                checkpoint(None)
            else:
                checkpoint(lambda: {"steps": list(results)})

        return PlanPass(
            steps=steps,
            variables=variables,
            secrets=secrets,
            masker=recorder.masker,
            recorder=recorder,
            start_url=held.run.spec.start_url,
            deadline=deadline,
            timeout_s=held.run.timeout_s,
            browser=browser,
            cancelled=lambda: held.cancel_requested,
            after_step=after_step,
            http=http,
            finder=finder,
        )

    def _collector(self, run: Run) -> ArtifactCollector:
        return ArtifactCollector(
            self._artifacts,
            run_prefix(run.project_id, run.id, run.attempt),
            attempts=self.config.upload_attempts,
            backoff_s=self.config.upload_backoff_s,
        )

    # --------------------------------------------------------------------------- the ending

    async def _conclude(
        self,
        held: _Held,
        status: RunStatus,
        masker: Masker,
        *,
        images: dict[str, bytes] | None = None,
        exchanges: Exchanges | None = None,
        retryable: bool = True,
        **changes: Any,
    ) -> Run:
        """End the attempt with ``status``: upload its report, then store the result (or retry)."""
        changes["flaky"] = is_flaky(held.run, status)  # for the report; the service decides it again
        changes.update(await self._reports(held.run, status, masker, images or {}, changes, exchanges))
        return await self._finish(held, status, retryable=retryable, **changes)

    async def _reports(
        self,
        run: Run,
        status: RunStatus,
        masker: Masker,
        images: dict[str, bytes],
        changes: dict[str, Any],
        exchanges: Exchanges | None = None,
    ) -> dict[str, Any]:
        """Build and upload ``report.html`` and ``junit.xml`` of the attempt; returns the run's artifact
        fields with them added. A report that cannot be built or stored never costs the run its result."""
        artifacts = list(changes.get("artifacts", run.artifacts))
        artifact_errors = list(changes.get("artifact_errors", run.artifact_errors))
        ended = utcnow()
        duration = int((ended - run.started_at).total_seconds() * 1000) if run.started_at else None
        fields = {"status": status, "ended_at": ended, "duration_ms": duration}
        view = run.model_copy(update={**changes, **fields, "artifacts": artifacts, "artifact_errors": artifact_errors})
        # Everything in the run is masked already; once more, so that no report can ever hold a secret.
        view = _mask_user_content(view, masker)
        collector = self._collector(run)
        builders: tuple[tuple[str, ArtifactKind, Callable[[], bytes]], ...] = (
            (
                "report.html",
                "report",
                lambda: html_report(view, prefix=collector.prefix, images=images, exchanges=exchanges),
            ),
            ("junit.xml", "junit", lambda: junit_report(view)),
        )
        if exchanges is not None and len(exchanges):  # each request and response, for the dashboard
            builders += (("exchanges.json", "log", exchanges.to_json),)
        problems: list[str] = []
        for name, kind, build in builders:
            try:
                collector.add_data(name, kind, build())
            except Exception as exc:
                logger.exception("could not build a report of the run", run_id=run.id, report=name)
                problems.append(
                    masker.clip(f"{name}: could not be built: {type(exc).__name__}: {exc}", MAX_ERROR_CHARS)
                )
        uploaded = await collector.upload_all()
        return {
            "artifacts": [*artifacts, *uploaded.uploaded],
            "artifact_errors": [*artifact_errors, *problems, *(masker.text(e) for e in uploaded.errors)],
        }

    async def _finish(self, held: _Held, status: RunStatus, *, retryable: bool = True, **changes: Any) -> Run:
        run = held.run
        self._check_abandoned(held)
        changes.pop("flaky", None)  # the service's rule
        try:
            updated = await asyncio.to_thread(
                self._runs.end_attempt,
                run,
                status,
                retryable=retryable,
                backoff_base_s=self.config.retry_delay_s,
                backoff_cap_s=self.config.retry_delay_cap_s,
                **changes,
            )
        except Conflict as exc:
            raise RunLost(exc.message) from exc
        if updated.status == RunStatus.queued:
            logger.info(
                "run attempt failed; retrying",
                run_id=run.id,
                status=status.value,
                attempt=run.attempt,
                next_attempt=updated.attempt,
            )
            return updated
        logger.info(
            "run finished",
            run_id=run.id,
            status=status.value,
            attempt=run.attempt,
            duration_ms=updated.duration_ms,
            correlation_id=run.correlation_id,
        )
        return updated


# ---------------------------------------------------------------------------------- helpers


def _not_run(run: Run, steps: list[Step], masker: Masker) -> dict[str, Any]:
    """The results of a run none of whose steps ran: every step skipped (in every dataset row)."""
    if not run.dataset:
        return {"steps": skipped(steps, 0, masker)}
    return {
        "iterations": [
            Iteration(index=i, variables=masker.data(row), status=RunStatus.error, steps=skipped(steps, 0, masker))
            for i, row in enumerate(run.dataset)
        ]
    }


def _mask_user_content(run: Run, masker: Masker) -> Run:
    """``run`` with what users wrote or the tested system returned masked (names, labels, errors, variables,
    step texts). Ids, keys, statuses and timestamps are the runner's own and stay as they are: a short secret
    ("2026") must not turn a timestamp into "***-11-21"."""
    if not masker:
        return run

    def step(result: StepResult) -> StepResult:
        fields = ("description", "target", "detail", "locator", "error")
        return result.model_copy(update={f: masker.maybe(getattr(result, f)) for f in fields})

    return run.model_copy(
        update={
            "name": masker.maybe(run.name),
            "labels": masker.data(run.labels),
            "error": masker.maybe(run.error),
            "variables": masker.data(run.variables),
            "steps": [step(s) for s in run.steps],
            "iterations": [
                it.model_copy(update={"variables": masker.data(it.variables), "steps": [step(s) for s in it.steps]})
                for it in run.iterations
            ],
            "artifact_errors": [masker.text(e) for e in run.artifact_errors],
        }
    )


def _failure_images(results: list[PlanResult], report: UploadReport, collector: ArtifactCollector) -> dict[str, bytes]:
    """The screenshots of failed steps that were stored, by key, read while the run's files still exist."""
    images: dict[str, bytes] = {}
    for result in results:
        for step in result.steps:
            if step.status in ("failed", "error") and step.screenshot and report.key_uploaded(step.screenshot):
                path = collector.local_path(step.screenshot)
                if path is not None and path.is_file():
                    images[step.screenshot] = path.read_bytes()
    return images


def _storable(variables: dict[str, Any]) -> dict[str, VarValue]:
    return {k: v if isinstance(v, str | int | float | bool) else json.dumps(v) for k, v in variables.items()}
