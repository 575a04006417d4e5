"""The run state machine: start, take, transition (with guards), cancel, list, artifacts.

Every status change is a conditional write (on the status and attempt the caller saw) followed by
a ``Run Status Changed`` event. See ``shared/models/runs.py`` for the allowed transitions.

Attempts: every execution of a run is an attempt of its own, numbered from 1, with its own message (which
carries the number) and its own artifacts (``attempt-N/``). An attempt ends in one of three ways:

- it finishes: the run ends with its status, or, when it failed and the run has retries left, the run is
  retried as the next attempt (``end_attempt``);
- it is interrupted: its worker stopped without finishing it (it went silent, so its heartbeat went stale
  and another worker's delivery of the message finds it: ``take``; or local mode restarted: ``resume``).
  The run goes back to the queue as the next attempt with a new message, and the interruption is recorded
  on the run (``interruptions``). Interruptions use none of the retries; after ``max_interruptions`` of
  them, the next one ends the run as ``error`` (a run that crashes its worker every time);
- its message used up its deliveries: ``dead_letter`` ends the run as ``error``.

So every earlier attempt of a run either failed or was interrupted, which is what ``failed_attempts``
counts on. ``flaky`` means passed after an attempt that failed. Every attempt a runner took is recorded on the
run once it ends (``run.attempts``: its status, short step results, error and artifact names; bounded as
``shared/services/attempts.py`` says). A failed attempt is retried after an exponential backoff with jitter
(``retry_delay_s``).

Goal-only runs (a plain-English ``goal``, no ``steps``): the run's steps are the plan cached for the goal's content
(``stats.planner_calls`` 0); else, with a planner that plans inline (the sentence grammar), the goal is planned
before the run is created (``planner_calls`` 1; a goal it cannot read is a 422 naming the lines); else (Bedrock)
the run is created ``queued`` without steps and a plan request goes to the planner's queue: the planner worker
plans it (``plan_waiting_run``), writes the steps into the run and only then sends its run message, or ends it as
``error`` with the planner's reason.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from pydantic import TypeAdapter

from shared.errors import Conflict, DomainError, InvalidInput, InvalidPlan, NotAllQueued, NotFound, Unavailable
from shared.ids import new_id, utcnow
from shared.models.events import RunStatusChanged
from shared.models.failures import Failure
from shared.models.messages import BatchMember, PlanMessage, RunMessage
from shared.models.pages import Page
from shared.models.planning import PlanFailed
from shared.models.queries import RunQuery
from shared.models.runs import (
    Artifact,
    ArtifactRef,
    Attempt,
    AttemptStatus,
    Interruption,
    Iteration,
    Run,
    RunControl,
    RunCreate,
    RunRow,
    RunStats,
    RunStatus,
    StepResult,
    Trigger,
    artifact_prefix,
    can_transition,
    split_artifact_key,
)
from shared.models.tests import TestKind, TestSpec, TestStatus, infer_kind
from shared.observability import logger
from shared.ports import ArtifactLinkChecker, ArtifactStore, EventBus, RunQueue, RunStore, StoredArtifact, TestStore
from shared.resources import MAX_RECEIVE_COUNT
from shared.services import attempts as attempt_records
from shared.services import results as run_results
from shared.services import signatures
from shared.services.catalog import archived_test
from shared.services.planning import Planning
from shared.services.routing import lane_for, split_to_fit

DeadLetterOutcome = Literal["ended", "dropped", "pending"]
#: the statuses of an attempt that a retry may turn around
RETRYABLE = frozenset({RunStatus.failed, RunStatus.error, RunStatus.timed_out})
WORKER_SILENT = "its worker stopped responding (no heartbeat for {seconds}s)"
LOCAL_RESTART = "local mode restarted while it ran"
#: what a secret's value is shown as in a stored run (the runner's masking)
RUN_MASK = "***"


@dataclass(frozen=True)
class RunLimits:
    default_timeout_s: int = 300
    max_timeout_s: int = 3600
    presign_ttl_s: int = 3600
    stale_heartbeat_s: int = 120
    max_retries: int = 5
    #: interruptions after which a run is still executed again; the next one ends it as ``error``
    max_interruptions: int = 3
    #: runs with a longer timeout take the long lane (the Fargate workers: ``shared/services/routing.py``);
    #: none: one lane
    short_lane_limit_s: int | None = None
    #: the most time (the sum of its runs' timeouts) one message may ask of its runner; a batch is split to fit
    #: (none: no limit)
    message_limit_s: int | None = None


#: SQS's longest DelaySeconds
MAX_DELAY_S = 900


def retry_delay_s(failed: int, *, base_s: float, cap_s: float, rng: random.Random) -> int:
    """Seconds to wait before the attempt that follows the ``failed``-th failed attempt of a run: exponential
    backoff with *equal* jitter. The exponential delay is ``base_s * 2 ** (failed - 1)``, capped at ``cap_s``
    (and at SQS's 900 s); the wait is half of it plus a random share of the other half, rounded to
    whole seconds (SQS delays are whole seconds): with base 2 s, 1-2 s, then 2-4 s, 4-8 s, ...

    Equal rather than full jitter (a wait anywhere from 0 to the delay): a retry here waits for a transient
    problem of the system under test (a deploy rolling out, a cold cache) to pass, so a guaranteed minimum
    wait matters more than spreading retries out as far as possible; half the delay is still random, which
    keeps the failed runs of one suite (that failed together) from coming back all at once.
    ``rng``: the random source (a seeded ``random.Random`` makes it deterministic in tests)."""
    if failed < 1 or base_s <= 0:
        return 0
    delay = min(cap_s, MAX_DELAY_S, base_s * 2 ** min(failed - 1, 30))
    half = delay / 2
    return min(math.floor(delay), round(half + rng.uniform(0, half)))


def queue_wait_ms(run: Run, taken_at: datetime) -> int | None:
    """How long the attempt ``run`` is on waited on the queue until a runner took it at ``taken_at``: from its
    ``queued_at`` (none for a run stored before it was recorded: none). Never below 0 (a clock a little behind)."""
    if run.queued_at is None:
        return None
    return max(0, int((taken_at - run.queued_at).total_seconds() * 1000))


def failed_attempts(run: Run) -> int:
    """How many attempts before the current one failed (each was retried): the others were interrupted."""
    return run.attempt - 1 - len(run.interruptions)


def retries_left(run: Run) -> int:
    return run.max_attempts - 1 - failed_attempts(run)


def is_flaky(run: Run, status: RunStatus) -> bool:
    """Whether the current attempt ending with ``status`` makes the run flaky: it passed after an attempt
    that failed. An attempt that was interrupted did not fail: passing after one is not flaky."""
    return status == RunStatus.passed and failed_attempts(run) > 0


#: dataset rows at once when neither the run nor the test says: an API row is a few requests, a browser row a context
DEFAULT_API_CONCURRENCY = 8
DEFAULT_BROWSER_CONCURRENCY = 1


def run_concurrency(kind: TestKind, run: int | None, test: int | None) -> int:
    """How many dataset rows a run executes at once: the run's setting, else the test's, else the kind's default."""
    if run is not None:
        return run
    if test is not None:
        return test
    return DEFAULT_API_CONCURRENCY if kind == TestKind.api else DEFAULT_BROWSER_CONCURRENCY


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
        planning: Planning | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``planning``: plans goal-only specs (without it, a run needs ``steps``). ``rng``: the jitter of the
        retry backoff (a seeded one in tests)."""
        self._tests = tests
        self._runs = runs
        self._queue = queue
        self._events = events
        self._artifacts = artifacts
        self._limits = limits or RunLimits()
        self._clock = clock
        self._links = links
        self._planning = planning
        self._rng = rng or random.Random()

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
        run_id: str | None = None,
        enqueue: bool = True,
        batch_id: str | None = None,
        scheduled_for: datetime | None = None,
    ) -> Run:
        """Create a run and queue it. ``run_id``: the caller's own id for it (a suite run's child, so that two
        writers starting it make one run: the second's creation is a Conflict). ``enqueue=False``: store it
        queued (and ask for its plan if it waits for one) but leave its message to the caller, who sends it in a
        batch with others (``send_batch``)."""
        spec, test_id, revision, name, kind, tags = self._resolve_spec(project_id, body)
        variables = {**spec.variables, **body.variables}
        planner_calls, waits_for_plan = 0, False
        if not spec.steps:
            spec, planner_calls, waits_for_plan = self._plan_goal(project_id, spec, variables, kind, test_id, revision)
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
            id=run_id or new_id("run"),
            project_id=project_id,
            test_id=test_id,
            revision=revision,
            name=name,
            kind=kind,
            max_attempts=retries + 1,
            trigger=trigger or body.trigger,
            priority=body.priority,
            queued_at=now,
            suite_run_id=suite_run_id,
            schedule_id=schedule_id,
            scheduled_for=scheduled_for,
            batch_id=batch_id,
            labels=body.labels,
            tags=tags,
            # the run's own variables and dataset (below) supersede the spec's: store them once
            spec=spec.model_copy(update={"variables": {}, "dataset": None}),
            variables=variables,
            dataset=body.dataset if body.dataset is not None else spec.dataset,
            concurrency=run_concurrency(kind, body.concurrency, spec.concurrency),
            rate_limit=body.rate_limit if body.rate_limit is not None else spec.rate_limit,
            timeout_s=timeout_s,
            created_at=now,
            updated_at=now,
            correlation_id=correlation_id or new_id("cor"),
            stats=RunStats(planner_calls=planner_calls),
        )
        self._runs.create_run(run)
        try:
            if waits_for_plan:
                assert self._planning is not None
                self._planning.request_run_plan(run)
            elif enqueue:
                self._queue.send(self._message(run))
        except DomainError as exc:
            # The run is stored but nobody will execute it: end it as an error, say why.
            what = "ask the planner for its steps" if waits_for_plan else "enqueue the run"
            self.transition(run, RunStatus.error, error=f"could not {what}: {exc.message}")
            queue = "planner's queue" if waits_for_plan else "run queue"
            raise Unavailable(f"the {queue} is unavailable; the run was recorded as 'error'") from exc
        logger.info(
            "run queued", run_id=run.id, test_id=test_id, correlation_id=run.correlation_id, planning=waits_for_plan
        )
        self._publish(run, previous=None)
        return run

    def _plan_goal(
        self,
        project_id: str,
        spec: TestSpec,
        variables: dict[str, Any],
        kind: TestKind,
        test_id: str | None,
        revision: int | None,
    ) -> tuple[TestSpec, int, bool]:
        """A goal-only spec's steps: ``(spec with steps, planner calls, False)``, or ``(spec, 0, True)`` when the
        planner worker is to plan it. The plan is keyed on the spec with the run's variables (their names are
        what a planner may use)."""
        where = f"test {test_id} revision {revision}" if test_id else "the inline spec"
        if self._planning is None:
            raise Conflict(f"{where} has a goal but no step plan, and this deployment has no planner; add 'steps'")
        planned = spec.model_copy(update={"variables": variables})
        if not self._planning.inline:
            cached = self._planning.cached_steps(project_id, planned)
            if cached is None:
                return spec, 0, True
            return spec.model_copy(update={"steps": cached}), 0, False
        try:
            steps, calls = self._planning.plan_for_run(project_id, planned, kind)
        except PlanFailed as exc:
            raise InvalidPlan(
                f"{where}: its goal could not be turned into steps: {exc.message}", details=exc.details or None
            ) from exc
        return spec.model_copy(update={"steps": steps}), calls, False

    def rerun(self, project_id: str, run_id: str, *, correlation_id: str | None = None) -> Run:
        """Start a run again as it was started: the same test and revision (or inline spec), the variables it was
        given over the test's, its dataset, labels, retries and timeout. What the run itself set (extracted
        variables) is not given again, nor a value shown masked (``***``: a secret's, which the stored run no
        longer holds); those come from the test and its secrets as they are now."""
        run = self.get_run(project_id, run_id)
        given = {
            name: value
            for name, value in run.variables.items()
            if name not in run.extracted
            and run.spec.variables.get(name) != value
            and not (isinstance(value, str) and RUN_MASK in value)
        }
        body: dict[str, Any] = {
            "variables": given,
            "labels": run.labels,
            "retries": run.max_attempts - 1,
            "timeout_s": run.timeout_s,
            "priority": run.priority,
        }
        if run.test_id is not None:
            body |= {"test_id": run.test_id, "revision": run.revision}
        else:
            body["spec"] = run.spec.model_dump(mode="json", exclude_none=True) | {
                "name": run.name,
                "kind": run.kind,
                "tags": run.tags,
            }
        if run.dataset is not None and run.dataset != run.spec.dataset:
            body["dataset"] = run.dataset
        return self.start_run(project_id, RunCreate.model_validate(body), correlation_id=correlation_id)

    def plan_waiting_run(self, message: PlanMessage) -> Run | None:
        """Plan a queued goal-only run (the planner worker), write its steps and send its run message. None for a
        duplicate (the run has steps already, or is no longer queued). A planner that fails with a reason ends
        the run as ``error`` with it; any other error goes up (the message comes back)."""
        assert message.run_id is not None and self._planning is not None
        try:
            run = self._runs.get_run(message.run_id)
        except NotFound:
            logger.warning("plan request for an unknown run dropped", run_id=message.run_id)
            return None
        if run.project_id != message.project_id or run.status != RunStatus.queued:
            return None
        if run.spec.steps:
            self._queue.send(self._message(run))  # planned, but its message may not have gone: take drops doubles
            return None
        planned = run.spec.model_copy(update={"variables": run.variables})
        try:
            steps, calls = self._planning.plan_for_run(run.project_id, planned, run.kind)
        except PlanFailed as exc:
            stats = run.stats.model_copy(update={"planner_calls": run.stats.planner_calls + 1})
            return self.transition(
                run, RunStatus.error, error=f"its goal could not be turned into steps: {exc.message}", stats=stats
            )
        stats = run.stats.model_copy(update={"planner_calls": run.stats.planner_calls + calls})
        try:
            run = self.update_progress(
                run, spec=run.spec.model_copy(update={"steps": steps}), stats=stats, queued_at=self._clock()
            )
        except Conflict:
            return None  # cancelled meanwhile
        self._queue.send(self._message(run))
        logger.info("run planned and queued", run_id=run.id, planner_calls=calls)
        return run

    def fail_waiting_run(self, message: PlanMessage, reason: str) -> Run | None:
        """End a goal-only run still waiting for its plan as ``error`` (its plan request used up its
        deliveries)."""
        assert message.run_id is not None
        try:
            run = self._runs.get_run(message.run_id)
        except NotFound:
            return None
        if run.project_id != message.project_id or run.status != RunStatus.queued or run.spec.steps:
            return None
        try:
            return self.transition(run, RunStatus.error, error=reason)
        except Conflict:
            return None

    def _resolve_spec(
        self, project_id: str, body: RunCreate
    ) -> tuple[TestSpec, str | None, int | None, str | None, TestKind, list[str]]:
        if body.test_id is not None:
            test = self._tests.get_test(project_id, body.test_id)
            if test.status == TestStatus.archived:
                raise archived_test(test.id, to="run it")
            number = body.revision or test.latest_revision
            if number > test.latest_revision:
                raise NotFound(f"test {test.id} has no revision {number} (latest is {test.latest_revision})")
            revision = self._tests.get_revision(project_id, test.id, number)
            return revision.spec(), test.id, number, test.name, test.kind, test.tags
        assert body.spec is not None  # RunCreate's validator guarantees one of the two
        spec = body.spec.spec()
        tags = sorted(set(body.spec.tags))
        return spec, None, None, body.spec.name, body.spec.kind or infer_kind(spec), tags

    def _message(self, run: Run, *, timeout_s: int | None = None) -> RunMessage:
        return RunMessage(
            run_id=run.id,
            project_id=run.project_id,
            attempt=run.attempt,
            correlation_id=run.correlation_id,
            lane=lane_for(timeout_s or run.timeout_s, short_limit_s=self._limits.short_lane_limit_s),
            priority=run.priority,
        )

    def send_batch(self, runs: list[Run]) -> None:
        """Send one message naming every run of ``runs`` (queued runs of one project, stored with
        ``enqueue=False``): one runner executes them in turn on one browser. One run goes as its own message.
        The runs of a message take its runner the sum of their timeouts: where a runner may take only so long
        with one message (``message_limit_s``: the container Lambda alone), the runs are split into consecutive
        messages that fit; the lane is chosen by that sum. When a send fails, the runs of that message and of
        those not sent yet end as ``error`` (nobody would execute them) and NotAllQueued (an Unavailable naming
        them) goes up, as ``start_run``'s Unavailable does."""
        if not runs:
            return
        limit = self._limits.message_limit_s
        chunks = split_to_fit([r.timeout_s for r in runs], limit) if limit else [range(len(runs))]
        for done, chunk in enumerate(chunks):
            members = [runs[i] for i in chunk]
            message = self._message(members[0], timeout_s=sum(r.timeout_s for r in members))
            if len(members) > 1:
                message = message.model_copy(
                    update={"batch": [BatchMember(run_id=r.id, attempt=r.attempt) for r in members]}
                )
            try:
                self._queue.send(message)
            except DomainError as exc:
                unsent = [runs[i] for left in chunks[done:] for i in left]
                for run in unsent:
                    with contextlib.suppress(Conflict):  # cancelled meanwhile
                        self.transition(run, RunStatus.error, error=f"could not enqueue the run: {exc.message}")
                raise NotAllQueued(
                    "the run queue is unavailable; the runs not sent were recorded as 'error'",
                    unsent=frozenset(r.id for r in unsent),
                ) from exc
            logger.info(
                "runs queued as one batch", run_ids=[r.id for r in members], correlation_id=members[0].correlation_id
            )

    # ------------------------------------------------------------------------------- reading

    def get_run(self, project_id: str, run_id: str) -> Run:
        run = self._runs.get_run(run_id)
        if run.project_id != project_id:
            raise NotFound(f"run {run_id} not found")
        return run

    def list_runs(self, query: RunQuery) -> Page[Run]:
        return self._runs.list_runs(query)

    def list_run_rows(self, query: RunQuery) -> Page[RunRow]:
        """As :meth:`list_runs`, each run as a list shows it (no spec, steps or artifacts: a fraction of a read)."""
        return self._runs.list_run_rows(query)

    def artifacts(self, project_id: str, run_id: str) -> list[Artifact]:
        run = self.get_run(project_id, run_id)
        ttl = self._limits.presign_ttl_s
        return [
            Artifact(
                name=ref.name,
                kind=ref.kind,
                size=ref.size,
                content_type=ref.content_type,
                attempt=_attempt_of(ref.key),
                url=self._artifacts.presigned_url(ref.key, ttl_s=ttl),
            )
            for ref in run.artifacts
        ]

    def artifact(self, project_id: str, run_id: str, attempt: int, name: str) -> ArtifactRef:
        """One artifact of one attempt of a run of the project, by its name (``trace.zip``,
        ``screenshots/step-000.png``); NotFound for any other name, run or project."""
        run = self.get_run(project_id, run_id)
        key = f"{artifact_prefix(project_id, run_id, attempt)}/{name}"
        found = next((ref for ref in run.artifacts if ref.key == key), None)
        if not name or found is None:
            raise NotFound(f"run {run_id} has no artifact {name!r} in attempt {attempt}")
        return found

    def read_artifact(self, ref: ArtifactRef) -> StoredArtifact:
        """The bytes of an artifact :meth:`artifact` found."""
        return self._artifacts.read(ref.key)

    def artifact_url(self, ref: ArtifactRef) -> str:
        """A link to an artifact :meth:`artifact` found, valid for the deployment's presign TTL."""
        return self._artifacts.presigned_url(ref.key, ttl_s=self._limits.presign_ttl_s)

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

    def transition(self, run: Run, new: RunStatus, *, heartbeat_before: datetime | None = None, **changes: Any) -> Run:
        """Move ``run`` to ``new`` if the stored run is still in the status and attempt we saw (and, with
        ``heartbeat_before``, its heartbeat is older than that).

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
        if new in signatures.FAILURE_STATUSES:
            fields.setdefault("failure", _failure_of(run, fields))
        cond = {"condition_heartbeat_before": heartbeat_before.isoformat()} if heartbeat_before else {}
        updated = self._write(run, fields, expected_status=run.status, **cond)
        self._publish(updated, previous=run.status)
        return updated

    def update_progress(self, run: Run, **changes: Any) -> Run:
        """Write non-status fields (step results, heartbeat, artifacts) of a run we hold."""
        return self._write(run, {"updated_at": self._clock(), **changes}, expected_status=run.status)

    def record_progress(self, run: Run, **changes: Any) -> None:
        """Write step progress (step results, dataset iterations) of a run we hold, reading nothing back: a
        runner writes this after its steps, and the whole run read back with each write cost more than the
        write (its size grows with the steps). Conflict when the run moved on (ended elsewhere, taken over)."""
        fields = run_results.fitted(run, {"updated_at": self._clock(), **changes})
        staged = run.model_copy(update=fields)
        payload = staged.model_dump(mode="json", include=set(fields))
        self._runs.write_run(run.id, payload, expected_status=run.status, expected_attempt=run.attempt)

    def control(self, run: Run) -> RunControl:
        """Whether ``run``, held by a runner, is still the attempt it holds, and whether a cancel was asked for:
        a small read. Conflict when the run moved on (another status or attempt) or is gone."""
        try:
            current = self._runs.get_run_control(run.id)
        except NotFound as exc:
            raise Conflict(f"run {run.id} is gone") from exc
        if current.status != run.status or current.attempt != run.attempt:
            raise Conflict(
                f"run {run.id} is {current.status.value} (attempt {current.attempt}); expected "
                f"{run.status.value} (attempt {run.attempt})",
                details={"status": current.status.value, "attempt": current.attempt},
            )
        return current

    def _write(self, run: Run, fields: dict[str, Any], *, expected_status: RunStatus, **cond: Any) -> Run:
        fields = run_results.fitted(run, fields)  # step results that fit the run's record (a large dataset)
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
        """Take a run for execution (queued -> running). Returns None for a duplicate delivery, a stale
        attempt, or a run that is already finished. A crashed worker's run (running, with a heartbeat older
        than ``stale_heartbeat_s``) is not executed again in place: it is interrupted (``interrupt``), which
        queues it as the next attempt with a message of its own, and None is returned (this message is then
        stale). A message of the attempt before a queued one re-sends that attempt's message, which the worker
        that queued it may have failed to send (it then left its own message for redelivery)."""
        try:
            run = self._runs.get_run(message.run_id)
        except NotFound:
            logger.warning("message for an unknown run dropped", run_id=message.run_id)
            return None
        if run.status.terminal:
            return None
        if run.status == RunStatus.queued and not run.spec.steps:
            logger.warning("run message for a run still waiting for its plan dropped", run_id=run.id)
            return None  # the planner worker sends its message once the steps are written
        if run.status == RunStatus.queued and message.attempt == run.attempt - 1:
            self._queue.send(self._message(run))
            return None
        if run.attempt != message.attempt:
            return None
        now = self._clock()
        try:
            if run.status == RunStatus.queued:
                return self.transition(
                    run, RunStatus.running, started_at=now, heartbeat_at=now, queue_wait_ms=queue_wait_ms(run, now)
                )
            stale_s = self._limits.stale_heartbeat_s
            stale_before = now - timedelta(seconds=stale_s)
            if run.heartbeat_at is not None and run.heartbeat_at < stale_before:
                logger.warning("a run's worker went silent; running it again", run_id=run.id, attempt=run.attempt)
                self.interrupt(run, WORKER_SILENT.format(seconds=stale_s), heartbeat_before=stale_before)
        except Conflict:
            return None
        return None

    def interrupt(self, run: Run, reason: str, *, heartbeat_before: datetime | None = None) -> Run:
        """Record that the attempt ``run`` is on never finished (``reason``), and queue the run as the next
        attempt with a new message; its partial results go (the next attempt starts over). Uses none of the
        retries. After ``max_interruptions`` the run ends as ``error`` instead. ``heartbeat_before``: only if
        the stored heartbeat is still older than that (another worker may have taken over meanwhile). A run
        whose cancel was asked for ends ``cancelled`` instead."""
        interruption = Interruption(attempt=run.attempt, reason=reason, at=self._clock())
        interruptions = [*run.interruptions, interruption]
        attempts = self._recorded(run, "interrupted", error=reason, ended_at=interruption.at)
        if run.cancel_requested:
            return self.transition(
                run,
                RunStatus.cancelled,
                heartbeat_before=heartbeat_before,
                error=f"cancelled: attempt {run.attempt} never finished ({reason})",
                interruptions=interruptions,
                attempts=attempts,
            )
        if len(run.interruptions) >= self._limits.max_interruptions:
            error = (
                f"attempt {run.attempt} never finished ({reason}), nor did the {len(run.interruptions)} attempts "
                "before it that were interrupted: a run whose attempts keep stopping their worker is not run again"
            )
            logger.error("run interrupted too often; ended", run_id=run.id, attempt=run.attempt)
            return self.transition(
                run,
                RunStatus.error,
                heartbeat_before=heartbeat_before,
                error=error,
                interruptions=interruptions,
                attempts=attempts,
            )
        return self._next_attempt(
            run,
            heartbeat_before=heartbeat_before,
            interruptions=interruptions,
            attempts=attempts,
            steps=[],
            iterations=[],
        )

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

    def resume(self, run: Run, reason: str = LOCAL_RESTART) -> Run:
        """Give a run whose worker stopped without finishing it back to the queue (local mode after a
        restart: the queue's messages are gone). A ``running`` run is interrupted (``reason``): it goes back
        to the queue as the next attempt (or ends ``cancelled`` when its cancel was asked for). A ``queued``
        run gets its message again. Safe to repeat: taking a run is a conditional write, so a duplicate
        message is dropped."""
        if run.status == RunStatus.running:
            return self.interrupt(run, reason)
        if run.status != RunStatus.queued:
            raise Conflict(f"run {run.id} is {run.status.value}; there is nothing to resume")
        if not run.spec.steps and self._planning is not None:
            self._planning.request_run_plan(run)  # it was waiting for its plan
        else:
            self._queue.send(self._message(run))
        return run

    def dead_letter(self, message: RunMessage) -> DeadLetterOutcome:
        """A run message that used up its deliveries and landed in the dead-letter queue: end its
        run as ``error``, saying why. ``dropped`` when there is nothing to end (the run finished, or
        moved on to another attempt; a letter of the attempt before a queued one re-sends that attempt's
        message first, as ``take`` does); ``pending`` while a worker still holds the run with a fresh
        heartbeat (look again later: the letter is a leftover copy). A batch message is each of its runs' letter:
        ``pending`` if one is, else ``ended`` if one was ended, else ``dropped``."""
        if message.batch:
            outcomes = [self.dead_letter(member) for member in message.members()]
            if "pending" in outcomes:
                return "pending"
            return "ended" if "ended" in outcomes else "dropped"
        try:
            run = self._runs.get_run(message.run_id)
        except NotFound:
            return "dropped"
        if run.status == RunStatus.queued and message.attempt == run.attempt - 1:
            self._queue.send(self._message(run))
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
        changes: dict[str, Any] = {"error": reason}
        if run.status == RunStatus.running:  # a runner took this attempt: it never finished
            changes["attempts"] = self._recorded(run, "interrupted", error=reason)
        try:
            self.transition(run, RunStatus.error, **changes)
        except Conflict:
            return "pending"  # it moved meanwhile: decide again on the next look
        logger.error("run ended from the dead-letter queue", run_id=run.id, attempt=run.attempt)
        return "ended"

    def end_attempt(
        self,
        run: Run,
        status: RunStatus,
        *,
        retryable: bool = True,
        backoff_base_s: float = 0,
        backoff_cap_s: float = 300,
        **changes: Any,
    ) -> Run:
        """End the attempt ``run`` is on with ``status``, and record it (``run.attempts``): when it failed
        (``RETRYABLE``, and ``retryable``) and the run has retries left, retry it as the next attempt after
        ``retry_delay_s`` (``backoff_base_s``, ``backoff_cap_s``); else end the run with ``status``, ``flaky``
        when it passed after an attempt that failed. ``changes``: the attempt's results (steps, artifacts...)."""
        now = self._clock()
        attempts = self._recorded(run, cast(AttemptStatus, status.value), ended_at=now, results=changes)
        if status in RETRYABLE and retryable and retries_left(run) > 0:
            delay = retry_delay_s(failed_attempts(run) + 1, base_s=backoff_base_s, cap_s=backoff_cap_s, rng=self._rng)
            return self.requeue(run, delay_s=delay, **{**changes, "attempts": attempts})
        return self.transition(
            run, status, **{"ended_at": now, **changes, "attempts": attempts, "flaky": is_flaky(run, status)}
        )

    def _recorded(
        self,
        run: Run,
        status: AttemptStatus,
        *,
        error: str | None = None,
        ended_at: datetime | None = None,
        results: dict[str, Any] | None = None,
    ) -> list[Attempt]:
        """``run.attempts`` with the record of the attempt it is on (ending with ``status``) appended."""
        new = attempt_records.record(
            run, status, ended_at=ended_at or self._clock(), error=error, results=results or {}
        )
        return attempt_records.appended(run.attempts, new)

    def requeue(self, run: Run, *, delay_s: int = 0, **changes: Any) -> Run:
        """Retry a run whose attempt failed: the next attempt (running -> queued, attempt + 1), enqueued."""
        return self._next_attempt(run, delay_s=delay_s, **changes)

    def _next_attempt(
        self, run: Run, *, delay_s: int = 0, heartbeat_before: datetime | None = None, **changes: Any
    ) -> Run:
        """Queue ``run`` as its next attempt and send that attempt's message. The write comes first: a message
        sent for a write that then lost would be taken for an attempt nobody queued. When the send fails, the
        error goes up, and the caller's own message comes back: ``take`` then sends this one again."""
        if not can_transition(run.status, RunStatus.queued):
            raise Conflict(f"run {run.id} is {run.status.value}; it cannot be run again")
        now = self._clock()
        fields: dict[str, Any] = {
            "status": RunStatus.queued,
            "attempt": run.attempt + 1,
            "updated_at": now,
            "heartbeat_at": None,
            "queued_at": now + timedelta(seconds=max(delay_s, 0)),  # its wait starts once its backoff is over
            **changes,
        }
        cond = {"condition_heartbeat_before": heartbeat_before.isoformat()} if heartbeat_before else {}
        updated = self._write(run, fields, expected_status=run.status, **cond)
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


def _attempt_of(key: str) -> int | None:
    parts = split_artifact_key(key)
    return parts[2] if parts else None


_steps = TypeAdapter(list[StepResult])
_iterations = TypeAdapter(list[Iteration])


def _failure_of(run: Run, fields: dict[str, Any]) -> Failure | None:
    """The failure signature of ``run`` as ``fields`` end it (stored on the run, so that listing failures reads
    no step results). A signature that cannot be worked out is left for the read to work out: it never stops a
    run from ending."""
    try:
        ended = run.model_copy(
            update={
                "status": RunStatus(fields["status"]),
                "steps": _steps.validate_python(fields.get("steps", run.steps)),
                "iterations": _iterations.validate_python(fields.get("iterations", run.iterations)),
                "error": fields.get("error", run.error),
            }
        )
        return signatures.failure_of(ended)
    except Exception as exc:  # a bug in the rules must not lose the run's end
        logger.error(
            "could not work out a run's failure signature", run_id=run.id, error=f"{type(exc).__name__}: {exc}"
        )
        return None
