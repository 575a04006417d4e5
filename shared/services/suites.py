"""Suites and suite runs: which tests a suite runs, starting a suite run, and aggregating its child runs.

A suite run holds one child per test. A child is ``pending`` until its turn, then has a run whose status it
mirrors. Its run's id is derived from the suite run's id and the child's index (:func:`child_run_id`), so
starting a child is idempotent: two writers that both start it make one run (the run's creation is conditional).

Aggregation (``on_run_changed``, fed by ``Run Status Changed`` events through ``functions/events``) never trusts
an event's status: it reads the stored runs, so duplicate and out-of-order events change nothing that the
current state does not. Each pass reads the suite run, brings its children up to date, starts the children
whose turn it is (``parallel``: up to ``max_parallel`` at once; ``sequential``: the next one once the one before
ended, with the variables extracted so far), skips the rest when ``fail_fast`` stops the suite, and writes it
back on the condition of the version it read (a lost race re-reads and decides again). The writer that ends the
suite run publishes ``Suite Run Completed``: once.

Batching (``batch_size`` > 1, ``AUTOTEST_SUITE_BATCH_SIZE``): the children of a ``parallel`` suite run that one
pass starts and that share a batch key (:func:`batch_key`: browser tests; the labels are the suite run's, the same
for every child, and every browser run is launched alike) go to the runners as one message naming up to
``batch_size`` runs, which one runner executes in turn: one browser start, a fresh context per run. Each run is
still taken with its own conditional write; a retry or a takeover goes back as a message of its own.
``max_parallel`` counts messages (a batch is one): children are batched only when there are more due than free
slots, so a child waits behind batch-mates only when it would have waited for a slot anyway. API tests (no
browser to start) and ``sequential`` suites are not batched.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from shared.errors import Conflict, DomainError, InvalidInput, NotAllQueued, NotFound, PayloadTooLarge
from shared.ids import _CROCKFORD, new_id, utcnow
from shared.models.common import VarValue
from shared.models.events import RunStatusChanged, SuiteRunCompleted
from shared.models.pages import Page
from shared.models.queries import TestQuery
from shared.models.runs import Run, RunCreate, RunStatus, Trigger
from shared.models.suites import (
    CHILD_DONE,
    MAX_SUITE_TESTS,
    Suite,
    SuiteChild,
    SuiteCreate,
    SuiteRun,
    SuiteRunCounts,
    SuiteRunCreate,
    SuiteRunStatus,
    SuiteUpdate,
)
from shared.models.tests import TestCase, TestKind, TestStatus
from shared.observability import logger
from shared.ports import EventBus, SuiteStore, TestStore
from shared.services.runs import RunService

#: what a secret's value is replaced with in a run's variables (``runner/masking.py``)
MASK = "***"
#: what one run takes (``RunCreate``: ``Variables`` and ``Labels``)
MAX_VARIABLES = 200
MAX_LABELS = 20
#: child states that stop a ``fail_fast`` suite
NOT_PASSED = frozenset({"failed", "error", "timed_out", "cancelled"})
ACTIVE = frozenset({"queued", "running"})
#: the most a suite run may hold when it starts: the rest of its item (390 KB) is room for its children's results
#: (each child's status, run id and clipped error: under 1 KB) and the variables a scenario hands on (64 KiB)
MAX_STARTED_BYTES = 160 * 1024
#: a child's error as the suite run keeps it (its run has the whole of it)
MAX_CHILD_ERROR_CHARS = 500
#: what a sequential suite run hands on: values up to 16 KiB each, 64 KiB in all (a suite run is one item)
MAX_HANDED_VALUE_CHARS = 16 * 1024
MAX_HANDED_CHARS = 64 * 1024
#: how long the writer that ended a suite run has to publish its completion before another pass does it
COMPLETION_CLAIM_S = 30
#: rounds of read-decide-write a pass tries before it gives up on a suite run that keeps changing
MAX_ROUNDS = 20


def child_run_id(suite_run_id: str, index: int) -> str:
    """The id of the run of child ``index`` of a suite run: ``run_`` + the suite run's time part + 16 characters
    hashed from both, so it sorts with the suite run and is the same for every writer."""
    body = suite_run_id.split("_", 1)[-1]
    digest = int.from_bytes(hashlib.sha256(f"{suite_run_id}#{index}".encode()).digest()[:10], "big")
    tail = "".join(_CROCKFORD[(digest >> (5 * i)) & 31] for i in range(16))
    return f"run_{body[:10]}{tail}"


def batch_key(child: SuiteChild) -> str | None:
    """What children must share to go to one runner together, or None for a child that goes alone. A suite run's
    labels are the same for every child, and no test sets how its browser is launched (every browser run gets
    the runner's Chromium and launch arguments), so browser tests share one key; an API test needs no browser,
    so a batch would save it nothing. A setting that changes the launch belongs in the key."""
    return "browser" if child.kind == TestKind.browser else None


def _unit(child: SuiteChild) -> str:
    """What a started child counts as against ``max_parallel``: its batch while it is on the attempt it was
    batched with (the first), else itself (a retry or a takeover is a message of its own)."""
    if child.batch is not None and child.attempt <= 1:
        return child.batch
    return child.run_id or f"#{child.index}"


def suite_status(run: SuiteRun) -> SuiteRunStatus:
    """What the children make of the suite run: ``running`` until every child is done, then ``passed`` when every
    child passed, ``cancelled`` when the suite run was cancelled, ``failed`` when one failed, timed out or was
    cancelled, else ``error``."""
    if not all(child.done for child in run.children):
        started = any(child.status != "pending" for child in run.children)
        return SuiteRunStatus.running if started else SuiteRunStatus.queued
    statuses = {child.status for child in run.children}
    if statuses <= {"passed"}:
        return SuiteRunStatus.passed
    if run.cancel_requested:
        return SuiteRunStatus.cancelled
    if statuses & {"failed", "timed_out", "cancelled"}:
        return SuiteRunStatus.failed
    return SuiteRunStatus.error


def extracted_by(run: Run) -> dict[str, VarValue]:
    """The variables a run's steps set (``run.extracted``), without those a secret was masked in (wholly or in
    part: what is left is not the value) or too large to hand on (over :data:`MAX_HANDED_VALUE_CHARS`)."""
    return {
        k: run.variables[k]
        for k in run.extracted
        if k in run.variables
        and MASK not in str(run.variables[k])  # a secret (or a part of one) was masked in it: it is not the value
        and len(str(run.variables[k])) <= MAX_HANDED_VALUE_CHARS
    }


def check_merged(variables: dict[str, VarValue], labels: dict[str, str]) -> None:
    """The suite's variables and labels with the run's over them fit what one run takes (a 422 when the suite
    run is started, not an error in each child)."""
    if len(variables) > MAX_VARIABLES:
        raise InvalidInput(
            f"variables: the suite's and the run's together are {len(variables)}; a run takes at most {MAX_VARIABLES}",
            details={"field": "variables"},
        )
    if len(labels) > MAX_LABELS:
        raise InvalidInput(
            f"labels: the suite's and the run's together are {len(labels)}; a run takes at most {MAX_LABELS}",
            details={"field": "labels"},
        )


def clipped(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_CHILD_ERROR_CHARS:
        return text
    return text[: MAX_CHILD_ERROR_CHARS - 1] + "…"


class SuiteService:
    def __init__(
        self,
        *,
        suites: SuiteStore,
        tests: TestStore,
        runs: RunService,
        events: EventBus,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 1,
    ) -> None:
        """``batch_size``: the most child runs sent to one runner in one message (1: each its own message)."""
        self._batch_size = max(1, batch_size)
        self._suites = suites
        self._tests = tests
        self._runs = runs
        self._events = events
        self._clock = clock

    # ------------------------------------------------------------------------------ suites

    def _check_tests(self, project_id: str, test_ids: list[str]) -> None:
        """Every named test exists in the project: a typo is a 422 when the suite is saved."""
        seen: set[str] = set()
        for position, test_id in enumerate(test_ids):
            if test_id in seen:
                raise InvalidInput(
                    f"tests[{position}]: {test_id} is named twice", details={"field": f"tests[{position}]"}
                )
            seen.add(test_id)
            try:
                self._tests.get_test(project_id, test_id)
            except NotFound:
                raise InvalidInput(
                    f"tests[{position}]: the project has no test {test_id}", details={"field": f"tests[{position}]"}
                ) from None

    def create(self, project_id: str, body: SuiteCreate) -> Suite:
        self._check_tests(project_id, body.tests or [])
        now = self._clock()
        suite = Suite(
            id=new_id("ste"),
            project_id=project_id,
            created_at=now,
            updated_at=now,
            **body.model_dump(exclude={"tests"}),
            tests=list(body.tests or []),
        )
        self._suites.put_suite(suite)
        return suite

    def get(self, project_id: str, suite_id: str) -> Suite:
        return self._suites.get_suite(project_id, suite_id)

    def resolve(self, project_id: str, name_or_id: str) -> Suite:
        """A suite by id (``ste_...``) or by name (the CLI's ``suites run NAME``)."""
        if name_or_id.startswith("ste_"):
            try:
                return self._suites.get_suite(project_id, name_or_id)
            except NotFound:
                pass
        found = self._suites.find_suite(project_id, name_or_id)
        if found is None:
            raise NotFound(f"no suite has the id or name {name_or_id!r}")
        return found

    def list_suites(self, project_id: str, *, limit: int = 50, cursor: str | None = None) -> Page[Suite]:
        return self._suites.list_suites(project_id, limit=limit, cursor=cursor)

    def update(self, project_id: str, suite_id: str, body: SuiteUpdate) -> Suite:
        """Apply the fields given to the stored suite; a write that lost a race (another change came between the
        read and the write) reads again and applies them again, so concurrent changes are all kept."""
        changes = {field: getattr(body, field) for field in body.model_fields_set}
        if "tests" in changes:
            changes["tests"] = list(changes["tests"] or [])
            self._check_tests(project_id, changes["tests"])
        for _ in range(MAX_ROUNDS):
            suite = self._suites.get_suite(project_id, suite_id)
            updated = suite.model_copy(update={**changes, "updated_at": self._clock()})
            if not updated.tests and updated.selector is None:
                raise InvalidInput("a suite needs tests: give 'tests' (test ids) or 'selector' (tags), or both")
            try:
                return self._suites.replace_suite(updated, previous_name=suite.name)
            except Conflict as exc:
                if not (isinstance(exc.details, dict) and exc.details.get("stale")):
                    raise
        raise Conflict(f"suite {suite_id} kept changing while it was updated; try again")

    def delete(self, project_id: str, suite_id: str) -> None:
        for _ in range(MAX_ROUNDS):
            try:
                self._suites.delete_suite(project_id, suite_id)
                return
            except Conflict:
                continue  # renamed meanwhile: read its name again
        raise Conflict(f"suite {suite_id} kept changing while it was deleted; try again")

    def tests_of(self, suite: Suite) -> list[TestCase]:
        """The tests a suite runs now: those it names (in order), then those its selector takes (by name)."""
        chosen: list[TestCase] = []
        seen: set[str] = set()
        for test_id in suite.tests:
            try:
                test = self._tests.get_test(suite.project_id, test_id)
            except NotFound:
                test = TestCase(
                    id=test_id,
                    project_id=suite.project_id,
                    name="(deleted)",
                    kind=TestKind.browser,
                    latest_revision=0,
                    created_at=suite.created_at,
                    updated_at=suite.created_at,
                )
            chosen.append(test)
            seen.add(test_id)
        if suite.selector is not None:
            selector = suite.selector
            cursor: str | None = None
            while True:
                page = self._tests.list_tests(
                    TestQuery(
                        project_id=suite.project_id,
                        tag=selector.tags[0],
                        kind=selector.kind,
                        status=TestStatus.active,
                        sort="name",
                        limit=200,
                        cursor=cursor,
                    )
                )
                for test in page.items:
                    if test.id not in seen and set(selector.tags) <= set(test.tags):
                        chosen.append(test)
                        seen.add(test.id)
                cursor = page.next_cursor
                if cursor is None or len(chosen) > MAX_SUITE_TESTS:
                    break
        if len(chosen) > MAX_SUITE_TESTS:
            raise InvalidInput(
                f"suite {suite.name!r} takes more than {MAX_SUITE_TESTS} tests: narrow its selector",
                details={"field": "selector"},
            )
        return chosen

    # -------------------------------------------------------------------------- suite runs

    def start(
        self,
        project_id: str,
        suite_id: str,
        body: SuiteRunCreate,
        *,
        trigger: Trigger | None = None,
        schedule_id: str | None = None,
        correlation_id: str | None = None,
        suite_run_id: str | None = None,
        scheduled_for: datetime | None = None,
    ) -> SuiteRun:
        """Create a suite run with a child per test and start the first children (202). ``suite_run_id``: a
        caller that must not start two for one request (a schedule's firing) passes its own id; a second
        start with it returns the first suite run."""
        suite = self._suites.get_suite(project_id, suite_id)
        if suite_run_id is not None:
            try:
                return self._suites.get_suite_run(project_id, suite_run_id)
            except NotFound:
                pass
        tests = self.tests_of(suite)
        if not tests:
            raise InvalidInput(
                f"suite {suite.name!r} has no tests to run: its selector matches no active test",
                details={"field": "selector"},
            )
        variables, labels = {**suite.variables, **body.variables}, {**suite.labels, **body.labels}
        check_merged(variables, labels)
        now = self._clock()
        children = [SuiteChild(index=i, test_id=t.id, name=t.name, kind=t.kind) for i, t in enumerate(tests)]
        for child, test in zip(children, tests, strict=True):
            if test.latest_revision == 0:
                child.status, child.error = "error", f"test {test.id} no longer exists"
            elif test.status == TestStatus.archived:
                child.status, child.error = "error", f"test {test.id} is archived"
        run = SuiteRun(
            id=suite_run_id or new_id("srn"),
            project_id=project_id,
            suite_id=suite.id,
            suite_name=suite.name,
            mode=suite.mode,
            max_parallel=suite.max_parallel,
            fail_fast=suite.fail_fast,
            children=children,
            variables=variables,
            labels=labels,
            retries=body.retries if body.retries is not None else suite.retries,
            timeout_s=suite.timeout_s,
            trigger=trigger or body.trigger,
            priority=body.priority,
            schedule_id=schedule_id,
            scheduled_for=scheduled_for,
            created_at=now,
            updated_at=now,
            correlation_id=correlation_id or new_id("cor"),
        )
        run.counts = SuiteRunCounts.of(run.children)
        size = len(run.model_dump_json())
        if size > MAX_STARTED_BYTES:
            raise PayloadTooLarge(
                f"suite run of {suite.name!r} is too large to start: {size // 1024} KB of variables, labels and "
                f"tests; a suite run keeps them with room for its children's results, so at most "
                f"{MAX_STARTED_BYTES // 1024} KB",
                details={"size": size, "limit": MAX_STARTED_BYTES},
            )
        try:
            self._suites.create_suite_run(run)
        except Conflict:
            return self._suites.get_suite_run(project_id, run.id)
        logger.info("suite run created", suite_run_id=run.id, suite_id=suite.id, children=len(children))
        return self.advance(project_id, run.id)

    def get_run(self, project_id: str, suite_run_id: str) -> SuiteRun:
        return self._suites.get_suite_run(project_id, suite_run_id)

    def list_runs(
        self,
        project_id: str,
        *,
        suite_id: str | None = None,
        labels: dict[str, str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[SuiteRun]:
        return self._suites.list_suite_runs(project_id, suite_id=suite_id, labels=labels, limit=limit, cursor=cursor)

    def cancel(self, project_id: str, suite_run_id: str) -> SuiteRun:
        """Cancel a suite run: the children not started are skipped, the started ones are cancelled."""
        for _ in range(MAX_ROUNDS):
            run = self._suites.get_suite_run(project_id, suite_run_id)
            if run.status.terminal:
                raise Conflict(
                    f"suite run {suite_run_id} already ended as {run.status.value}; there is nothing to cancel",
                    details={"status": run.status.value},
                )
            if run.cancel_requested:
                break
            try:
                self._suites.update_suite_run(run.model_copy(update={"cancel_requested": True}))
                break
            except Conflict:
                continue
        run = self._suites.get_suite_run(project_id, suite_run_id)
        for child in run.children:
            if child.run_id and child.status in ACTIVE:
                # it may have ended meanwhile (or never been created): the pass below sees it
                with contextlib.suppress(Conflict, NotFound):
                    self._runs.cancel(project_id, child.run_id)
        return self.advance(project_id, suite_run_id)

    def on_run_changed(self, event: RunStatusChanged) -> SuiteRun | None:
        """Aggregate a child run's status change into its suite run (idempotent; the event's own status is not
        trusted: the stored runs are read). None for a run of no suite run, or of a suite run not found."""
        if event.suite_run_id is None:
            return None
        try:
            return self.advance(event.project_id, event.suite_run_id)
        except NotFound:
            logger.warning("run event for an unknown suite run dropped", suite_run_id=event.suite_run_id)
            return None

    # ----------------------------------------------------------------------------- passes

    def advance(self, project_id: str, suite_run_id: str) -> SuiteRun:
        """Bring a suite run up to date with its child runs, start the children whose turn it is, end it when
        they are all done; returns it as stored."""
        for _ in range(MAX_ROUNDS):
            run = self._suites.get_suite_run(project_id, suite_run_id)
            if run.status.terminal:
                # the writer that ended it publishes; a pass that finds it unpublished long after takes over
                # (that writer stopped before it could)
                stale = (self._clock() - run.updated_at).total_seconds() > COMPLETION_CLAIM_S
                if not run.completion_published and stale:
                    return self._publish_completion(run)
                return run
            updated = run.model_copy(deep=True)
            self._refresh(updated)
            started = self._start_children(updated)
            self._finish(updated)
            if updated == run and not started:
                return run
            updated.updated_at = self._clock()
            try:
                written = self._suites.update_suite_run(updated)
            except Conflict:
                continue  # another writer moved it: read again and decide again
            if written.status.terminal:
                logger.info("suite run ended", suite_run_id=written.id, status=written.status.value)
                return self._publish_completion(written)
            return written
        raise Conflict(f"suite run {suite_run_id} kept changing; its status is brought up to date by the next event")

    def _refresh(self, run: SuiteRun) -> None:
        """Mirror each started child's run (its stored state, not an event's)."""
        for child in run.children:
            if child.run_id is None or child.done:
                continue
            try:
                child_run = self._runs.get_run(run.project_id, child.run_id)
            except NotFound:
                # its start was interrupted before the run was written: start it again (same id)
                child.status, child.run_id = "pending", None
                continue
            child.status = child_run.status.value
            child.batch = child_run.batch_id
            child.attempt = child_run.attempt
            child.flaky = child_run.flaky
            child.duration_ms = child_run.duration_ms
            child.error = clipped(child_run.error)
            if child.status == "passed" and run.mode == "sequential":
                for key, value in extracted_by(child_run).items():
                    size = sum(len(str(v)) for k, v in run.extracted.items() if k != key) + len(str(value))
                    if size <= MAX_HANDED_CHARS:
                        run.extracted[key] = value

    def _stopping(self, run: SuiteRun) -> str | None:
        if run.cancel_requested:
            return "the suite run was cancelled before it started"
        if run.fail_fast:
            for child in run.children:
                if child.status in NOT_PASSED:
                    return f"fail_fast: {child.name or child.test_id} did not pass ({child.status})"
        return None  # without fail_fast a scenario goes on: later tests run with what there is

    def _start_children(self, run: SuiteRun) -> bool:
        """Start the pending children whose turn it is (or skip them all when the suite stops)."""
        reason = self._stopping(run)
        pending = [c for c in run.children if c.status == "pending"]
        if reason is not None:
            for child in pending:
                child.status, child.error = "skipped", reason
            return False
        if run.mode == "sequential":
            active = any(c.status in ACTIVE for c in run.children)
            if active or not pending or not all(c.done for c in run.children[: pending[0].index]):
                return False
            self._start_child(run, pending[0])
            return True
        units = {_unit(c) for c in run.children if c.status in ACTIVE}
        groups = self._groups(pending, max(run.max_parallel - len(units), 0))
        for group in groups:
            if len(group) == 1:
                self._start_child(run, group[0])
            else:
                self._start_batch(run, group)
        return bool(groups)

    def _groups(self, pending: list[SuiteChild], slots: int) -> list[list[SuiteChild]]:
        """The pending children to start now, as the messages they go in: at most ``slots`` messages. The first
        ``slots`` children (in order) get one each, as without batching; then each further child with a batch key
        joins the least full message of its key below ``batch_size`` (the rest wait for a slot). So a child is
        queued behind batch-mates only when no slot was free for it anyway: batching saves runner starts and
        never costs parallelism."""
        groups = [[child] for child in pending[:slots]]
        if self._batch_size <= 1:
            return groups
        for child in pending[slots:]:
            key = batch_key(child)
            if key is None:
                continue
            fitting = [g for g in groups if batch_key(g[0]) == key and len(g) < self._batch_size]
            if fitting:
                min(fitting, key=len).append(child)
        return groups

    def _start_batch(self, run: SuiteRun, group: list[SuiteChild]) -> None:
        """Start the children of ``group`` and send the runs this pass created as one message (a run another
        writer created is sent by that writer; a run waiting for its plan gets its message from the planner)."""
        mine: list[Run] = []
        batch = child_run_id(run.id, group[0].index)  # the same for every writer that forms this group
        for child in group:
            started = self._start_child(run, child, enqueue=False, batch_id=batch)
            if started is not None and started.status == RunStatus.queued and started.spec.steps:
                mine.append(started)
        if not mine:
            return
        try:
            self._runs.send_batch(mine)
        except DomainError as exc:
            # only the runs that were not sent: the others were and run (their results come as any child's)
            unsent = exc.unsent if isinstance(exc, NotAllQueued) else {r.id for r in mine}
            for child in group:
                if child.run_id in unsent:
                    child.status, child.error = "error", clipped(f"could not start: {exc.message}")
            return

    def _start_child(
        self, run: SuiteRun, child: SuiteChild, *, enqueue: bool = True, batch_id: str | None = None
    ) -> Run | None:
        """Start a child's run; returns it when this call created it (``enqueue=False``: not sent yet), None when
        it could not start or another writer had started it."""
        run_id = child_run_id(run.id, child.index)
        variables = {**run.variables, **run.extracted}
        try:
            body = RunCreate(
                test_id=child.test_id,
                variables=variables,
                labels=run.labels,
                retries=run.retries,
                timeout_s=run.timeout_s,
                priority=run.priority,
            )
        except ValidationError as exc:  # the variables handed on grew past what a run takes
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            child.status, child.error = "error", clipped(f"could not start: {problems}")
            return None
        try:
            started = self._runs.start_run(
                run.project_id,
                body,
                trigger="suite",
                suite_run_id=run.id,
                schedule_id=run.schedule_id,
                correlation_id=run.correlation_id,
                run_id=run_id,
                enqueue=enqueue,
                batch_id=batch_id,
                scheduled_for=run.scheduled_for,
            )
            created: Run | None = started
        except DomainError as exc:
            created = None
            try:
                started = self._runs.get_run(run.project_id, run_id)  # another writer started it
            except NotFound:
                child.status, child.error = "error", clipped(f"could not start: {exc.message}")
                return None
        child.run_id = started.id
        child.batch = started.batch_id  # the batch it was started in, by whichever writer created it
        child.status = started.status.value
        child.attempt = started.attempt
        child.error = clipped(started.error)
        return created

    def _finish(self, run: SuiteRun) -> None:
        run.counts = SuiteRunCounts.of(run.children)
        status = suite_status(run)
        if status == SuiteRunStatus.running and run.started_at is None:
            run.started_at = self._clock()
        run.status = status
        if status.terminal:
            now = self._clock()
            run.ended_at = now
            run.duration_ms = int((now - run.created_at).total_seconds() * 1000)
            failing = next((c for c in run.children if c.status in NOT_PASSED), None)
            if failing is not None:
                run.error = f"{failing.name or failing.test_id}: {failing.error or failing.status}"
            elif status != SuiteRunStatus.passed:
                errored = next((c for c in run.children if c.status != "passed"), None)
                if errored is not None:
                    run.error = f"{errored.name or errored.test_id}: {errored.error or errored.status}"

    def _publish_completion(self, run: SuiteRun) -> SuiteRun:
        """Publish ``Suite Run Completed`` and record that it went (a failure to publish goes up: the event that
        brought us here comes back, and the next pass publishes)."""
        self._events.publish(SuiteRunCompleted.of(run))
        for _ in range(MAX_ROUNDS):
            try:
                return self._suites.update_suite_run(run.model_copy(update={"completion_published": True}))
            except Conflict:
                run = self._suites.get_suite_run(run.project_id, run.id)
                if run.completion_published:
                    return run
        return run


__all__ = ["CHILD_DONE", "SuiteService", "batch_key", "child_run_id", "suite_status"]
