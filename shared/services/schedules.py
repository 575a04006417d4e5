"""Schedules: saving them (checked, and mirrored to EventBridge Scheduler), the times they fire, and firing them.

**Firing exactly once per due time.** A firing for due time ``T`` starts a run (a test's) or a suite run (a
suite's) whose id is derived from the schedule's id and ``T`` (:func:`fired_id`), so a second start for the same
``T`` finds the first instead of making another; then it records ``T`` as ``last_fired_for`` with a write
conditional on the version read. Two firers racing (two local loops, a retried Lambda invocation, a restart
between the start and the record) start one run between them; the loser of the write re-reads and sees ``T``
recorded. The start comes first so that a crash between the two repeats the firing (harmlessly) instead of
losing it.

**Due times and catch-up** (local mode's loop, :meth:`ScheduleService.tick`; EventBridge Scheduler decides
this itself in AWS). Of the due times not fired yet, only the latest ``catch_up`` fire (default 1), oldest
first, so a long stop never ends in a storm of runs; then the schedule moves on to its next future time. A due
time within ``grace_s`` before now is on time: when the latest is on time it fires, and it counts as one of
the ``catch_up`` (a minutely schedule stopped for two minutes fires once, for the current minute, not also
for the one before); with ``catch_up`` 0 only an on-time one fires, nothing missed.

**The AWS mirror** (the :class:`~shared.ports.Scheduler` port). The stored schedule is the truth, and each
change is written there first, then pushed to the mirror; when the push fails the stored write is undone
(a creation deleted, a change restored) and the call fails with 503, so the two never disagree silently and
a retry starts from where the caller left it. Deleting goes the other way round (mirror first), so that a
failure never leaves an AWS schedule firing for a schedule that no longer exists. Whatever the mirror does,
a firing checks the stored schedule: a paused or deleted one starts nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from itertools import islice, takewhile

from shared.errors import Conflict, DomainError, InvalidInput, NotFound, Unavailable
from shared.ids import _CROCKFORD, _b32, new_id, utcnow
from shared.models.common import VarValue
from shared.models.pages import Page
from shared.models.runs import RunCreate
from shared.models.schedules import FireTime, Schedule, ScheduleCreate, SchedulePublic, ScheduleUpdate
from shared.models.suites import SuiteRunCreate
from shared.models.tests import TestStatus
from shared.observability import logger
from shared.ports import Scheduler, ScheduleStore, TestStore
from shared.schedule_expressions import (
    cron_times_after,
    cron_times_before,
    parse_cron,
    parse_rate,
    parse_timezone,
    rate_time_after,
    rate_time_at_or_before,
)
from shared.services.runs import RunService
from shared.services.suites import SuiteService, check_merged

#: read-decide-write rounds before a schedule that keeps changing is left to the next tick (or request)
MAX_ROUNDS = 10
#: due schedules one tick handles at most (the rest are due on the next)
DUE_BATCH = 100
_TINY = timedelta(microseconds=1)

# a stored schedule is read as it was saved (one saved before a check became stricter still fires)
_cron = lru_cache(maxsize=512)(partial(parse_cron, stored=True))
_rate = lru_cache(maxsize=512)(partial(parse_rate, stored=True))
_zone = lru_cache(maxsize=512)(partial(parse_timezone, stored=True))


def to_minute(value: datetime) -> datetime:
    """``value`` in UTC, to the minute (schedules fire on whole minutes)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(second=0, microsecond=0)


def fired_id(prefix: str, schedule_id: str, due: datetime) -> str:
    """The id of what a schedule starts for due time ``due``: ``<prefix>_`` + the due time's milliseconds (10
    characters, so ids sort by due time) + 16 characters hashed from both; the same for every firer."""
    due = to_minute(due)
    digest = int.from_bytes(hashlib.sha256(f"{schedule_id}#{due.isoformat()}".encode()).digest()[:10], "big")
    tail = "".join(_CROCKFORD[(digest >> (5 * i)) & 31] for i in range(16))
    return f"{prefix}_{_b32(int(due.timestamp() * 1000), 10)}{tail}"


@dataclass(frozen=True)
class Firing:
    """What firing a schedule for one due time did."""

    project_id: str
    schedule_id: str
    due: datetime
    #: the run or suite run started (or found started already), or None
    started: str | None = None
    #: why nothing was started (the suite was deleted, the test archived...), or None
    error: str | None = None
    #: it had fired for this due time already: nothing was done
    already: bool = False


class ScheduleService:
    def __init__(
        self,
        *,
        schedules: ScheduleStore,
        scheduler: Scheduler,
        tests: TestStore,
        runs: RunService,
        suites: SuiteService | None,
        clock: Callable[[], datetime] = utcnow,
        catch_up: int = 1,
        grace_s: float = 60.0,
    ) -> None:
        """``catch_up``: how many of the due times missed while the loop was stopped fire when it comes back (the
        latest ones); ``grace_s``: how late a due time may be and still count as on time."""
        self._store = schedules
        self._mirror = scheduler
        self._tests = tests
        self._runs = runs
        self._suites = suites
        self._clock = clock
        self._catch_up = max(catch_up, 0)
        self._grace = timedelta(seconds=grace_s)

    # ------------------------------------------------------------------------------ saving

    def _check_target(
        self,
        project_id: str,
        suite_id: str | None,
        test_id: str | None,
        *,
        variables: dict[str, VarValue] | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        """The suite or test exists in the caller's project, and a suite's variables and labels with the
        schedule's over them fit a run: a typo or an overflow is a 422 when the schedule is saved, not a failure
        at every firing."""
        if suite_id is not None:
            if self._suites is None:
                raise InvalidInput("suite_id: this deployment has no suites", details={"field": "suite_id"})
            try:
                suite = self._suites.get(project_id, suite_id)
            except NotFound:
                raise InvalidInput(
                    f"suite_id: the project has no suite {suite_id}", details={"field": "suite_id"}
                ) from None
            check_merged({**suite.variables, **(variables or {})}, {**suite.labels, **(labels or {})})
        if test_id is not None:
            try:
                test = self._tests.get_test(project_id, test_id)
            except NotFound:
                raise InvalidInput(
                    f"test_id: the project has no test {test_id}", details={"field": "test_id"}
                ) from None
            if test.status == TestStatus.archived:
                raise InvalidInput(
                    f"test_id: test {test_id} is archived: unarchive it first (`autotest tests unarchive {test_id}`)",
                    details={"field": "test_id"},
                )

    def create(self, project_id: str, body: ScheduleCreate) -> Schedule:
        self._check_target(project_id, body.suite_id, body.test_id, variables=body.variables, labels=body.labels)
        now = self._clock()
        schedule = Schedule(
            id=new_id("sch"),
            project_id=project_id,
            anchor_at=to_minute(now),
            created_at=now,
            updated_at=now,
            **body.model_dump(),
        )
        schedule.next_fire_at = self._next_after(schedule, now) if schedule.enabled else None
        self._store.put_schedule(schedule)
        try:
            self._push(schedule)
        except DomainError as exc:
            self._undo("delete the schedule", self._store.delete_schedule, project_id, schedule.id)
            raise Unavailable(
                f"the schedule could not be created in EventBridge Scheduler ({exc.message}); it was not saved: "
                "try again"
            ) from exc
        logger.info("schedule created", schedule_id=schedule.id, project_id=project_id)
        return schedule

    def get(self, project_id: str, schedule_id: str) -> Schedule:
        return self._store.get_schedule(project_id, schedule_id)

    def list_schedules(self, project_id: str, *, limit: int = 50, cursor: str | None = None) -> Page[Schedule]:
        return self._store.list_schedules(project_id, limit=limit, cursor=cursor)

    def update(self, project_id: str, schedule_id: str, body: ScheduleUpdate) -> Schedule:
        """Apply a PATCH (pausing and resuming included: ``enabled``). Resuming fires from the next due time on:
        what fell due while paused is not caught up."""
        for _ in range(MAX_ROUNDS):
            current = self._store.get_schedule(project_id, schedule_id)
            changed = self._changed(current, body)
            try:
                written = self._store.replace_schedule(changed)
            except Conflict:
                continue  # fired or changed meanwhile: apply the change to what is there now
            try:
                self._push(written)
            except DomainError as exc:
                restored = current.model_copy(update={"version": written.version})
                self._undo("restore the schedule", self._store.replace_schedule, restored)
                raise Unavailable(
                    f"the schedule could not be changed in EventBridge Scheduler ({exc.message}); it was left as it "
                    "was: try again"
                ) from exc
            return written
        raise Conflict(f"schedule {schedule_id} kept changing while it was updated; try again")

    def set_enabled(self, project_id: str, schedule_id: str, enabled: bool) -> Schedule:
        """Pause (False) or resume (True)."""
        return self.update(project_id, schedule_id, ScheduleUpdate(enabled=enabled))

    def delete(self, project_id: str, schedule_id: str) -> None:
        self._store.get_schedule(project_id, schedule_id)  # 404 before anything is touched
        self._mirror.delete(project_id, schedule_id)
        self._store.delete_schedule(project_id, schedule_id)
        logger.info("schedule deleted", schedule_id=schedule_id, project_id=project_id)

    def _changed(self, current: Schedule, body: ScheduleUpdate) -> Schedule:
        given = body.model_fields_set
        changes = {field: getattr(body, field) for field in given}
        for field, other in (("suite_id", "test_id"), ("test_id", "suite_id"), ("cron", "rate"), ("rate", "cron")):
            if field in given:
                changes[other] = None  # one replaces the other
        now = self._clock()
        updated = current.model_copy(update={**changes, "updated_at": now})
        if {"suite_id", "test_id", "variables", "labels"} & given or (updated.enabled and not current.enabled):
            # a new target (or what it gets), or resuming (a schedule paused because its target went is resumed
            # once it is back)
            self._check_target(
                current.project_id,
                updated.suite_id,
                updated.test_id,
                variables=updated.variables,
                labels=updated.labels,
            )
        if "rate" in given:
            updated.anchor_at = to_minute(now)  # a new rate counts from now
        timing = bool({"cron", "rate", "timezone"} & given)
        resumed = updated.enabled and not current.enabled
        if not updated.enabled:
            updated.next_fire_at = None
        elif timing or resumed:
            updated.next_fire_at = self._next_after(updated, now)
        return updated

    def _push(self, schedule: Schedule) -> None:
        start_at = schedule.next_fire_at if schedule.rate and schedule.enabled else None
        self._mirror.put(schedule, start_at=start_at)

    @staticmethod
    def _undo(what: str, undo: Callable[..., object], *args: object) -> None:
        try:
            undo(*args)
        except DomainError as exc:  # both failed: say so loudly, the next change of the schedule repairs it
            logger.error(
                f"could not {what} after EventBridge Scheduler failed: the two disagree until it changes again",
                error=exc.message,
            )

    # -------------------------------------------------------------------------- fire times

    def _times_after(self, schedule: Schedule, after: datetime) -> Iterator[datetime]:
        """Its fire times strictly after ``after``, in order (UTC)."""
        if schedule.rate is not None:
            rate, at = _rate(schedule.rate), after
            while True:
                at = rate_time_after(rate, schedule.anchor_at, at)
                yield at
        assert schedule.cron is not None
        yield from cron_times_after(_cron(schedule.cron), _zone(schedule.timezone), after)

    def _times_before(self, schedule: Schedule, before: datetime) -> Iterator[datetime]:
        """Its fire times at or before ``before``, latest first (UTC)."""
        if schedule.rate is not None:
            rate = _rate(schedule.rate)
            at = rate_time_at_or_before(rate, schedule.anchor_at, before)
            while at is not None and at > schedule.anchor_at:
                yield at
                at -= rate.interval
            return
        assert schedule.cron is not None
        yield from cron_times_before(_cron(schedule.cron), _zone(schedule.timezone), before)

    def next_fire_times(self, schedule: Schedule, after: datetime, n: int = 3) -> list[datetime]:
        """The next ``n`` times it fires strictly after ``after`` (UTC), DST-correct in its time zone."""
        return list(islice(self._times_after(schedule, after), n))

    def _next_after(self, schedule: Schedule, after: datetime) -> datetime | None:
        floor = max(after, schedule.last_fired_for) if schedule.last_fired_for else after
        return next(iter(self.next_fire_times(schedule, floor, 1)), None)

    def public(self, schedule: Schedule, *, n: int = 3) -> SchedulePublic:
        """The schedule as the API shows it, with its next ``n`` fire times (none while paused)."""
        times: list[FireTime] = []
        if schedule.enabled:
            zone = _zone(schedule.timezone)
            upcoming = self.next_fire_times(schedule, self._clock(), n)
            times = [FireTime(at=t, local=t.astimezone(zone).isoformat()) for t in upcoming]
        return SchedulePublic.of(schedule, times, target_name=self._target_name(schedule))

    def _target_name(self, schedule: Schedule) -> str | None:
        try:
            if schedule.suite_id is not None:
                return self._suites.get(schedule.project_id, schedule.suite_id).name if self._suites else None
            assert schedule.test_id is not None
            return self._tests.get_test(schedule.project_id, schedule.test_id).name
        except NotFound:
            return None

    # ------------------------------------------------------------------------------ firing

    def fire(self, project_id: str, schedule_id: str, due: datetime) -> Firing:
        """Fire a schedule for one due time (EventBridge Scheduler's invocation, through ``functions/scheduler``):
        start its run or suite run, once per due time. NotFound when the schedule is gone; a paused one starts
        nothing."""
        schedule = self._store.get_schedule(project_id, schedule_id)
        due = to_minute(due)
        if not schedule.enabled:
            logger.info("paused schedule not fired", schedule_id=schedule_id, due=due.isoformat())
            return Firing(project_id, schedule_id, due, error="the schedule is paused")
        return self._fire(schedule, due)

    def _fire(self, schedule: Schedule, due: datetime) -> Firing:
        if schedule.last_fired_for is not None and schedule.last_fired_for >= due:
            return Firing(schedule.project_id, schedule.id, due, started=schedule.last_run_id, already=True)
        gone = self._gone(schedule)
        started, error = (None, gone) if gone else self._start(schedule, due)
        for _ in range(MAX_ROUNDS):
            following = next(iter(self.next_fire_times(schedule, due, 1)), None)
            if schedule.next_fire_at is not None and following is not None:
                following = max(following, schedule.next_fire_at)  # a change meanwhile may have moved it on
            enabled = schedule.enabled and not gone
            recorded = schedule.model_copy(
                update={
                    "last_fired_for": due,
                    "last_run_id": started,
                    "last_error": error,
                    "enabled": enabled,
                    "next_fire_at": following if enabled else None,
                }
            )
            try:
                written = self._store.replace_schedule(recorded)
                if gone and schedule.enabled:
                    self._pause_mirror(written)
                break
            except Conflict:
                schedule = self._store.get_schedule(schedule.project_id, schedule.id)
                if schedule.last_fired_for is not None and schedule.last_fired_for >= due:
                    break  # another firer recorded it
        else:
            raise Conflict(f"schedule {schedule.id} kept changing while its firing was recorded")
        logger.info(
            "schedule fired", schedule_id=schedule.id, due=due.isoformat(), started=started, error=error or None
        )
        return Firing(schedule.project_id, schedule.id, due, started=started, error=error)

    def _gone(self, schedule: Schedule) -> str | None:
        """Why the schedule's suite or test can no longer be started (deleted, archived), with how to resume it;
        None while it can. Such a schedule is paused instead of failing every time it is due."""
        resume = f'`autotest schedules resume {schedule.id}` (PATCH /v1/schedules/{schedule.id} {{"enabled": true}})'
        if schedule.suite_id is not None:
            if self._suites is None:
                return None
            try:
                self._suites.get(schedule.project_id, schedule.suite_id)
            except NotFound:
                return (
                    f"paused: its suite {schedule.suite_id} no longer exists (it was deleted). Point the schedule "
                    f"at another suite and resume it (`autotest schedules update {schedule.id} --suite SUITE "
                    "--enable`), or delete it"
                )
            return None
        assert schedule.test_id is not None
        try:
            test = self._tests.get_test(schedule.project_id, schedule.test_id)
        except NotFound:
            return (
                f"paused: its test {schedule.test_id} no longer exists. Point the schedule at another test and "
                f"resume it (`autotest schedules update {schedule.id} --test TEST_ID --enable`), or delete it"
            )
        if test.status == TestStatus.archived:
            return (
                f"paused: its test {schedule.test_id} is archived. Unarchive it (`autotest tests unarchive "
                f"{schedule.test_id}`), then resume the schedule: {resume}"
            )
        return None

    def _pause_mirror(self, schedule: Schedule) -> None:
        """Keep EventBridge Scheduler in step with a schedule paused by its firing. When that fails, its next
        invocation finds the stored schedule paused and starts nothing; the next change repairs the mirror."""
        try:
            self._push(schedule)
        except DomainError as exc:
            logger.error(
                "could not pause the schedule in EventBridge Scheduler", schedule_id=schedule.id, error=exc.message
            )
        logger.warning("schedule paused: what it starts is gone", schedule_id=schedule.id, why=schedule.last_error)

    def _start(self, schedule: Schedule, due: datetime) -> tuple[str | None, str | None]:
        """Start what the schedule starts for ``due`` (or find it started): ``(id, None)``, or ``(None, why)``
        when it cannot start (which is recorded; it is not tried again). A dependency that is unavailable goes
        up: the firing is tried again on the next tick (or invocation)."""
        try:
            if schedule.suite_id is not None:
                if self._suites is None:
                    return None, "this deployment has no suites"
                suite_run = self._suites.start(
                    schedule.project_id,
                    schedule.suite_id,
                    SuiteRunCreate(variables=schedule.variables, labels=schedule.labels, priority=schedule.priority),
                    trigger="schedule",
                    schedule_id=schedule.id,
                    suite_run_id=fired_id("srn", schedule.id, due),
                    scheduled_for=due,
                )
                return suite_run.id, None
            assert schedule.test_id is not None
            run_id = fired_id("run", schedule.id, due)
            try:
                return self._runs.get_run(schedule.project_id, run_id).id, None  # started before
            except NotFound:
                pass
            try:
                run = self._runs.start_run(
                    schedule.project_id,
                    RunCreate(
                        test_id=schedule.test_id,
                        variables=schedule.variables,
                        labels=schedule.labels,
                        priority=schedule.priority,
                    ),
                    trigger="schedule",
                    schedule_id=schedule.id,
                    run_id=run_id,
                    scheduled_for=due,
                )
            except Conflict as conflict:
                try:
                    return self._runs.get_run(schedule.project_id, run_id).id, None  # another firer started it
                except NotFound:
                    raise conflict from None
            return run.id, None
        except Unavailable:
            raise
        except DomainError as exc:
            what = f"suite {schedule.suite_id}" if schedule.suite_id else f"test {schedule.test_id}"
            logger.warning("schedule could not start its run", schedule_id=schedule.id, error=exc.message)
            return None, f"could not start {what}: {exc.message}"

    # ------------------------------------------------------------------- local mode's loop

    def tick(self, now: datetime | None = None) -> list[Firing]:
        """Fire every enabled schedule that is due at ``now`` (default: the clock's): local mode's loop calls
        this every second or so. A schedule that fails is logged and tried again on the next tick."""
        now = now or self._clock()
        firings: list[Firing] = []
        for found in self._store.due_schedules(now, limit=DUE_BATCH):
            try:
                firings += self._fire_due(found.project_id, found.id, now)
            except NotFound:
                continue  # deleted meanwhile
            except DomainError as exc:
                logger.warning("schedule not fired; trying again", schedule_id=found.id, error=exc.message)
        return firings

    def due_times(self, schedule: Schedule, now: datetime) -> list[datetime]:
        """The due times to fire at ``now``, oldest first: the latest ``catch_up`` of the ones not fired yet. When
        the latest of them is on time (within ``grace_s``) it is one of those (so a stop of a bit over a minute
        fires one run, not the missed one and the on-time one), and it fires even with ``catch_up`` 0."""
        if not schedule.enabled or schedule.next_fire_at is None or schedule.next_fire_at > now:
            return []
        start = schedule.next_fire_at
        if schedule.last_fired_for is not None:
            start = max(start, schedule.last_fired_for + _TINY)
        backlog = takewhile(lambda t: t >= start, self._times_before(schedule, now))
        latest = list(islice(backlog, max(self._catch_up, 1)))
        if latest and latest[0] < now - self._grace:
            latest = latest[: self._catch_up]  # even the latest was missed: catch up (or not) that many
        return sorted(latest)

    def _fire_due(self, project_id: str, schedule_id: str, now: datetime) -> list[Firing]:
        schedule = self._store.get_schedule(project_id, schedule_id)  # the index may lag: read it as it is
        due = self.due_times(schedule, now)
        firings = []
        for time in due:
            if not schedule.enabled:
                break  # paused by the firing before (its suite or test is gone)
            firings.append(self._fire(schedule, time))
            schedule = self._store.get_schedule(project_id, schedule_id)
        if schedule.enabled and schedule.next_fire_at is not None and schedule.next_fire_at <= now:
            # what is left was missed and not caught up: move on to the next future time
            skipped = schedule.model_copy(update={"next_fire_at": self._next_after(schedule, now)})
            try:
                self._store.replace_schedule(skipped)
                logger.info("schedule skipped missed due times", schedule_id=schedule_id, catch_up=self._catch_up)
            except Conflict:
                pass  # changed meanwhile: the next tick looks again
        return firings


__all__ = ["DUE_BATCH", "Firing", "ScheduleService", "fired_id", "to_minute"]
