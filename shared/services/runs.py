"""The run state machine: start, take, transition (with guards), cancel, list, artifacts.

Every status change is a conditional write (on the status and attempt the caller saw) followed by
a ``Run Status Changed`` event. See ``shared/models/runs.py`` for the allowed transitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.errors import Conflict, DomainError, InvalidInput, NotFound, Unavailable
from shared.ids import new_id, utcnow
from shared.models.events import RunStatusChanged
from shared.models.messages import RunMessage
from shared.models.pages import Page
from shared.models.queries import RunQuery
from shared.models.runs import (
    Artifact,
    Run,
    RunCreate,
    RunStatus,
    Trigger,
    artifact_prefix,
    can_transition,
)
from shared.models.tests import TestKind, TestSpec, TestStatus, infer_kind
from shared.observability import logger
from shared.ports import ArtifactLinkChecker, ArtifactStore, EventBus, RunQueue, RunStore, StoredArtifact, TestStore
from shared.resources import MAX_RECEIVE_COUNT

DeadLetterOutcome = Literal["ended", "dropped", "pending"]


@dataclass(frozen=True)
class RunLimits:
    default_timeout_s: int = 300
    max_timeout_s: int = 3600
    presign_ttl_s: int = 3600
    stale_heartbeat_s: int = 120
    max_retries: int = 5


class RunService:
    def __init__(
        self,
        *,
        tests: TestStore,
        runs: RunStore,
        queue: RunQueue,
        events: EventBus,
        artifacts: ArtifactStore,
        limits: RunLimits | None = None,
        clock: Callable[[], datetime] = utcnow,
        links: ArtifactLinkChecker | None = None,
    ) -> None:
        self._tests = tests
        self._runs = runs
        self._queue = queue
        self._events = events
        self._artifacts = artifacts
        self._limits = limits or RunLimits()
        self._clock = clock
        self._links = links

    # ------------------------------------------------------------------------------ starting

    def start_run(
        self,
        project_id: str,
        body: RunCreate,
        *,
        trigger: Trigger | None = None,
        suite_run_id: str | None = None,
        schedule_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Run:
        spec, test_id, revision, name, kind, tags = self._resolve_spec(project_id, body)
        if not spec.steps:
            where = f"test {test_id} revision {revision}" if test_id else "the inline spec"
            raise Conflict(f"{where} has a goal but no step plan yet: add 'steps', or request a plan for it first")
        timeout_s = body.timeout_s or spec.timeout_s or self._limits.default_timeout_s
        if timeout_s > self._limits.max_timeout_s:
            raise InvalidInput(
                f"timeout_s: {timeout_s} is above this deployment's limit of {self._limits.max_timeout_s}",
                details={"field": "timeout_s"},
            )
        retries = body.retries if body.retries is not None else spec.retries
        if retries > self._limits.max_retries:
            raise InvalidInput(
                f"retries: {retries} is above this deployment's limit of {self._limits.max_retries}",
                details={"field": "retries"},
            )
        now = self._clock()
        run = Run(
            id=new_id("run"),
            project_id=project_id,
            test_id=test_id,
            revision=revision,
            name=name,
            kind=kind,
            max_attempts=retries + 1,
            trigger=trigger or body.trigger,
            suite_run_id=suite_run_id,
            schedule_id=schedule_id,
            labels=body.labels,
            tags=tags,
            # the run's own variables and dataset (below) supersede the spec's: store them once
            spec=spec.model_copy(update={"variables": {}, "dataset": None}),
            variables={**spec.variables, **body.variables},
            dataset=body.dataset if body.dataset is not None else spec.dataset,
            timeout_s=timeout_s,
            created_at=now,
            updated_at=now,
            correlation_id=correlation_id or new_id("cor"),
        )
        self._runs.create_run(run)
        try:
            self._queue.send(self._message(run))
        except DomainError as exc:
            # The run is stored but nobody will execute it: end it as an error, say why.
            self.transition(run, RunStatus.error, error=f"could not enqueue the run: {exc.message}")
            raise Unavailable("the run queue is unavailable; the run was recorded as 'error'") from exc
        logger.info("run queued", run_id=run.id, test_id=test_id, correlation_id=run.correlation_id)
        self._publish(run, previous=None)
        return run

    def _resolve_spec(
        self, project_id: str, body: RunCreate
    ) -> tuple[TestSpec, str | None, int | None, str | None, TestKind, list[str]]:
        if body.test_id is not None:
            test = self._tests.get_test(project_id, body.test_id)
            if test.status == TestStatus.archived:
                raise Conflict(f"test {test.id} is archived: unarchive it (PATCH status=active) to run it")
            number = body.revision or test.latest_revision
            if number > test.latest_revision:
                raise NotFound(f"test {test.id} has no revision {number} (latest is {test.latest_revision})")
            revision = self._tests.get_revision(project_id, test.id, number)
            return revision.spec(), test.id, number, test.name, test.kind, test.tags
        assert body.spec is not None  # RunCreate's validator guarantees one of the two
        spec = body.spec.spec()
        tags = sorted(set(body.spec.tags))
        return spec, None, None, body.spec.name, body.spec.kind or infer_kind(spec), tags

    @staticmethod
    def _message(run: Run) -> RunMessage:
        return RunMessage(
            run_id=run.id, project_id=run.project_id, attempt=run.attempt, correlation_id=run.correlation_id
        )

    # ------------------------------------------------------------------------------- reading

    def get_run(self, project_id: str, run_id: str) -> Run:
        run = self._runs.get_run(run_id)
        if run.project_id != project_id:
            raise NotFound(f"run {run_id} not found")
        return run

    def list_runs(self, query: RunQuery) -> Page[Run]:
        return self._runs.list_runs(query)

    def artifacts(self, project_id: str, run_id: str) -> list[Artifact]:
        run = self.get_run(project_id, run_id)
        ttl = self._limits.presign_ttl_s
        return [
            Artifact(
                name=ref.name,
                kind=ref.kind,
                size=ref.size,
                content_type=ref.content_type,
                url=self._artifacts.presigned_url(ref.key, ttl_s=ttl),
            )
            for ref in run.artifacts
        ]

    def open_artifact(self, token: str, name: str) -> StoredArtifact:
        """An artifact through a link the API serves itself (``shared/services/artifact_links.py``).

        Forbidden when the token's signature is wrong or it expired; NotFound unless ``name`` is one of
        the artifacts of the run and attempt the token was signed for (so a link opens nothing else:
        no other run, no other project, no listing)."""
        if self._links is None:
            raise NotFound("this deployment's artifact links point to its artifact storage, not to the API")
        grant = self._links.check(token)
        run = self.get_run(grant.project_id, grant.run_id)
        key = f"{artifact_prefix(grant.project_id, grant.run_id, grant.attempt)}/{name}"
        if not name or not any(ref.key == key for ref in run.artifacts):
            raise NotFound(f"run {run.id} has no artifact {name!r} in attempt {grant.attempt}")
        return self._artifacts.read(key)

    # ---------------------------------------------------------------------------- transitions

    def transition(self, run: Run, new: RunStatus, **changes: Any) -> Run:
        """Move ``run`` to ``new`` if the stored run is still in the status and attempt we saw.

        Raises Conflict for an illegal transition or when another writer got there first.
        """
        if not can_transition(run.status, new):
            raise Conflict(
                f"run {run.id} is {run.status.value}; it cannot become {new.value}",
                details={"status": run.status.value, "requested": new.value},
            )
        now = self._clock()
        fields: dict[str, Any] = {"status": new, "updated_at": now, **changes}
        if new.terminal:
            fields.setdefault("ended_at", now)
            started = fields.get("started_at") or run.started_at
            if started is not None:
                fields.setdefault("duration_ms", int((fields["ended_at"] - started).total_seconds() * 1000))
        updated = self._write(run, fields, expected_status=run.status)
        self._publish(updated, previous=run.status)
        return updated

    def update_progress(self, run: Run, **changes: Any) -> Run:
        """Write non-status fields (step results, heartbeat, artifacts) of a run we hold."""
        return self._write(run, {"updated_at": self._clock(), **changes}, expected_status=run.status)

    def _write(self, run: Run, fields: dict[str, Any], *, expected_status: RunStatus, **cond: Any) -> Run:
        staged = run.model_copy(update=fields)
        payload = staged.model_dump(mode="json", include=set(fields))
        return self._runs.update_run(
            run.id,
            payload,
            expected_status=expected_status,
            expected_attempt=run.attempt,
            project_id=run.project_id,
            **cond,
        )

    def take(self, message: RunMessage) -> Run | None:
        """Take a run for execution (queued -> running). Returns None for a duplicate delivery, a
        stale attempt, or a run that is already finished; a crashed worker's run (running, with a
        heartbeat older than ``stale_heartbeat_s``) is taken over."""
        try:
            run = self._runs.get_run(message.run_id)
        except NotFound:
            logger.warning("message for an unknown run dropped", run_id=message.run_id)
            return None
        if run.attempt != message.attempt or run.status.terminal:
            return None
        now = self._clock()
        try:
            if run.status == RunStatus.queued:
                return self.transition(run, RunStatus.running, started_at=now, heartbeat_at=now)
            stale_before = now - timedelta(seconds=self._limits.stale_heartbeat_s)
            if run.heartbeat_at is not None and run.heartbeat_at < stale_before:
                logger.warning("taking over a run whose worker went silent", run_id=run.id)
                return self._write(
                    run,
                    {"heartbeat_at": now, "updated_at": now},
                    expected_status=RunStatus.running,
                    condition_heartbeat_before=stale_before.isoformat(),
                )
        except Conflict:
            return None
        return None

    def heartbeat(self, run: Run) -> Run:
        return self.update_progress(run, heartbeat_at=self._clock())

    def cancel(self, project_id: str, run_id: str) -> Run:
        """A queued run is cancelled at once; a running one is asked to stop between steps."""
        run = self.get_run(project_id, run_id)
        if run.status == RunStatus.queued:
            try:
                return self.transition(run, RunStatus.cancelled, error="cancelled before it started")
            except Conflict:
                run = self.get_run(project_id, run_id)  # a runner took it meanwhile
        if run.status == RunStatus.running:
            if run.cancel_requested:
                return run
            try:
                return self.update_progress(run, cancel_requested=True)
            except Conflict:
                run = self.get_run(project_id, run_id)
        if run.status.terminal:
            raise Conflict(
                f"run {run_id} already ended as {run.status.value}; there is nothing to cancel",
                details={"status": run.status.value},
            )
        return run

    def resume(self, run: Run) -> Run:
        """Give a run whose worker stopped without finishing it back to the queue (local mode after
        a restart: the queue's messages are gone). A ``running`` run returns to ``queued`` on the
        same attempt, its partial results cleared: an interruption is not a retry. A ``queued`` run
        gets its message again. A run whose cancel was asked for ends ``cancelled`` instead.
        Safe to repeat: taking a run is a conditional write, so a duplicate message is dropped."""
        if run.status == RunStatus.running and run.cancel_requested:
            return self.transition(run, RunStatus.cancelled, error="cancelled while its worker was stopped")
        if run.status == RunStatus.running:
            run = self.transition(run, RunStatus.queued, steps=[], iterations=[], heartbeat_at=None)
        if run.status != RunStatus.queued:
            raise Conflict(f"run {run.id} is {run.status.value}; there is nothing to resume")
        self._queue.send(self._message(run))
        return run

    def dead_letter(self, message: RunMessage) -> DeadLetterOutcome:
        """A run message that used up its deliveries and landed in the dead-letter queue: end its
        run as ``error``, saying why. ``dropped`` when there is nothing to end (the run finished, or
        moved on to another attempt); ``pending`` while a worker still holds the run with a fresh
        heartbeat (look again later: the letter is a leftover copy)."""
        try:
            run = self._runs.get_run(message.run_id)
        except NotFound:
            return "dropped"
        if run.status.terminal or run.attempt != message.attempt:
            return "dropped"
        stale_before = self._clock() - timedelta(seconds=self._limits.stale_heartbeat_s)
        if run.status == RunStatus.running and run.heartbeat_at is not None and run.heartbeat_at >= stale_before:
            return "pending"
        reason = (
            f"attempt {run.attempt} never finished: its message was delivered {MAX_RECEIVE_COUNT} times "
            "(the runner crashed or ran out of time on each) and went to the dead-letter queue"
        )
        try:
            self.transition(run, RunStatus.error, error=reason)
        except Conflict:
            return "pending"  # it moved meanwhile: decide again on the next look
        logger.error("run ended from the dead-letter queue", run_id=run.id, attempt=run.attempt)
        return "ended"

    def requeue(self, run: Run, *, delay_s: int = 0, **changes: Any) -> Run:
        """Start the next attempt of a run (running -> queued, attempt + 1) and enqueue it."""
        fields: dict[str, Any] = {
            "status": RunStatus.queued,
            "attempt": run.attempt + 1,
            "updated_at": self._clock(),
            "heartbeat_at": None,
            **changes,
        }
        if not can_transition(run.status, RunStatus.queued):
            raise Conflict(f"run {run.id} is {run.status.value}; it cannot be retried")
        updated = self._write(run, fields, expected_status=run.status)
        self._queue.send(self._message(updated), delay_s=delay_s)
        self._publish(updated, previous=run.status)
        return updated

    # -------------------------------------------------------------------------------- events

    def _publish(self, run: Run, *, previous: RunStatus | None) -> None:
        event = RunStatusChanged.of(run, previous=previous)
        try:
            self._events.publish(event)
        except DomainError as exc:
            # The status is stored; a lost notification must not undo it.
            logger.error("could not publish a run event", run_id=run.id, error=exc.message)
