"""The schedule service against fakes and a controllable clock: saving (checked targets, the AWS mirror kept in
step), next fire times, and firing exactly once per due time (races, restarts, catch-up after a long stop)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.errors import InvalidInput, NotFound, Unavailable
from shared.models.schedules import Schedule, ScheduleCreate, ScheduleUpdate
from shared.models.suites import SuiteCreate
from shared.models.tests import TestCreate, TestStatus, TestUpdate
from shared.services.schedules import ScheduleService, fired_id
from tests.conftest import FakeServices

PROJECT = "prj_a"
START = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def service(fakes: FakeServices, clock: Clock, **options: Any) -> ScheduleService:
    """A schedule service over the fakes' stores: a second one over the same stores is a restart (or another
    local loop)."""
    return ScheduleService(
        schedules=fakes.schedule_store,
        scheduler=fakes.scheduler,
        tests=fakes.store,
        runs=fakes.services.runs,
        suites=fakes.services.suites,
        clock=clock,
        **options,
    )


def make_test(fakes: FakeServices) -> str:
    body = TestCreate.model_validate({"name": "Home", "steps": [{"action": "goto", "url": "http://127.0.0.1:9/"}]})
    return fakes.services.catalog.create_test(PROJECT, body)[0].id


def make_suite(fakes: FakeServices) -> str:
    assert fakes.services.suites is not None
    return fakes.services.suites.create(PROJECT, SuiteCreate(name="Nightly", tests=[make_test(fakes)])).id


def schedule_of(schedules: ScheduleService, **fields: Any) -> Schedule:
    return schedules.create(PROJECT, ScheduleCreate.model_validate(fields))


def runs_of(fakes: FakeServices, schedule_id: str) -> list[str]:
    return sorted(r.id for r in fakes.store.runs.values() if r.schedule_id == schedule_id and r.trigger == "schedule")


def test_a_minutely_test_schedule_fires_once_per_minute(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    schedule = schedule_of(schedules, test_id=make_test(fakes), rate="rate(1 minute)", labels={"env": "ci"})
    assert schedule.next_fire_at == datetime(2026, 12, 1, 12, 1, tzinfo=UTC)

    assert schedules.tick() == []  # 12:00:30: nothing due
    clock.now = datetime(2026, 12, 1, 12, 1, 0, 400_000, tzinfo=UTC)
    (fired,) = schedules.tick()
    assert fired.started == fired_id("run", schedule.id, fired.due)
    assert schedules.tick() == [] and schedules.tick(clock.advance(seconds=30)) == []
    clock.now = datetime(2026, 12, 1, 12, 2, 1, tzinfo=UTC)
    (second,) = schedules.tick()

    assert runs_of(fakes, schedule.id) == sorted([fired.started or "", second.started or ""])
    run = fakes.store.get_run(fired.started or "")
    assert run.trigger == "schedule" and run.labels == {"env": "ci"} and run.status == "queued"
    assert run.scheduled_for == datetime(2026, 12, 1, 12, 1, tzinfo=UTC)  # the due time, not when it started
    stored = schedules.get(PROJECT, schedule.id)
    assert stored.last_fired_for == datetime(2026, 12, 1, 12, 2, tzinfo=UTC)
    assert stored.last_run_id == second.started
    assert stored.next_fire_at == datetime(2026, 12, 1, 12, 3, tzinfo=UTC)


def test_two_loops_and_a_restart_fire_each_due_time_once(fakes: FakeServices, clock: Clock) -> None:
    first, other = service(fakes, clock), service(fakes, clock)
    schedule = schedule_of(first, test_id=make_test(fakes), cron="* * * * *")
    clock.now = datetime(2026, 12, 1, 12, 1, 5, tzinfo=UTC)
    # Given a firer that started the run and stopped before it recorded the firing
    stale = first.get(PROJECT, schedule.id)
    first._start(stale, datetime(2026, 12, 1, 12, 1, tzinfo=UTC))
    # When two loops tick, one of them the restarted one, several times
    for _ in range(3):
        first.tick()
        other.tick()
    restarted = service(fakes, clock)
    restarted.tick()
    # Then one run for 12:01
    assert len(runs_of(fakes, schedule.id)) == 1
    clock.now = datetime(2026, 12, 1, 12, 2, 2, tzinfo=UTC)
    assert len(restarted.tick() + first.tick() + other.tick()) == 1
    assert len(runs_of(fakes, schedule.id)) == 2


def test_a_firing_that_was_recorded_already_does_nothing(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    schedule = schedule_of(schedules, test_id=make_test(fakes), cron="* * * * *")
    due = datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    clock.now = due + timedelta(seconds=1)
    one = schedules.fire(PROJECT, schedule.id, due)
    two = schedules.fire(PROJECT, schedule.id, due + timedelta(seconds=20))  # the same minute, retried
    assert one.started and not one.already
    assert two.already and two.started == one.started
    assert len(runs_of(fakes, schedule.id)) == 1


def test_after_a_long_stop_one_missed_time_catches_up_then_it_moves_on(fakes: FakeServices, clock: Clock) -> None:
    schedule = schedule_of(service(fakes, clock), test_id=make_test(fakes), rate="rate(5 minutes)")
    # local mode stops at 12:00:30 and comes back three days later, at 12:07:10
    clock.now = START + timedelta(days=3, minutes=6, seconds=40)
    back = service(fakes, clock)
    fired = back.tick()
    assert [f.due for f in fired] == [datetime(2026, 12, 4, 12, 5, tzinfo=UTC)]  # the latest missed one only
    assert back.get(PROJECT, schedule.id).next_fire_at == datetime(2026, 12, 4, 12, 10, tzinfo=UTC)
    assert back.tick() == []
    clock.now = datetime(2026, 12, 4, 12, 10, 1, tzinfo=UTC)
    assert [f.due for f in back.tick()] == [datetime(2026, 12, 4, 12, 10, tzinfo=UTC)]
    assert len(runs_of(fakes, schedule.id)) == 2


def test_catch_up_zero_skips_what_was_missed(fakes: FakeServices, clock: Clock) -> None:
    schedule = schedule_of(service(fakes, clock), test_id=make_test(fakes), cron="0 * * * *")
    clock.now = START + timedelta(hours=5, minutes=10)  # 17:10:30: 13:00 ... 17:00 were missed
    back = service(fakes, clock, catch_up=0)
    assert back.tick() == []
    assert back.get(PROJECT, schedule.id).next_fire_at == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert runs_of(fakes, schedule.id) == []


def test_catch_up_fires_the_latest_missed_times_oldest_first(fakes: FakeServices, clock: Clock) -> None:
    schedule_of(service(fakes, clock), test_id=make_test(fakes), cron="0 * * * *")
    clock.now = START + timedelta(hours=5, minutes=10)
    fired = service(fakes, clock, catch_up=2).tick()
    assert [f.due.hour for f in fired] == [16, 17]


def test_exactly_once_across_the_fall_back_hour_with_restarts(fakes: FakeServices) -> None:
    # Berlin, 25 October 2026, every 30 minutes from 00:50 CEST; local mode restarts every few ticks
    clock = Clock(datetime(2026, 10, 24, 22, 50, tzinfo=UTC))
    schedule = schedule_of(
        service(fakes, clock), test_id=make_test(fakes), cron="*/30 * * * *", timezone="Europe/Berlin"
    )
    fired: list[datetime] = []
    loop = service(fakes, clock)
    for tick in range(4 * 60 * 6):  # every 15 s for 6 hours
        clock.advance(seconds=15)
        if tick % 7 == 0:
            loop = service(fakes, clock)
        fired += [f.due for f in loop.tick()]
    assert len(fired) == len(set(fired)) == len(runs_of(fakes, schedule.id))
    berlin = [t.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M%z") for t in fired]
    assert berlin[:6] == ["01:00+0200", "01:30+0200", "02:00+0200", "02:30+0200", "03:00+0100", "03:30+0100"]
    assert all(b - a >= timedelta(minutes=30) for a, b in itertools.pairwise(fired))


def test_a_suite_schedule_starts_suite_runs_with_derived_ids(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    schedule = schedule_of(schedules, suite_id=make_suite(fakes), cron="* * * * *", variables={"base_url": "x"})
    clock.now = datetime(2026, 12, 1, 12, 1, 3, tzinfo=UTC)
    (fired,) = schedules.tick()
    assert fired.started == fired_id("srn", schedule.id, fired.due)
    assert fired.started.startswith("srn_") and len(fired.started) == 30
    suite_run = fakes.suite_store.get_suite_run(PROJECT, fired.started)
    assert suite_run.trigger == "schedule" and suite_run.schedule_id == schedule.id
    assert suite_run.scheduled_for == fired.due == datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    assert suite_run.variables["base_url"] == "x"
    again = schedules.fire(PROJECT, schedule.id, fired.due)
    assert again.already and len(fakes.suite_store.suite_runs) == 1


def test_a_schedule_whose_suite_was_deleted_is_paused_saying_how_to_resume(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    suite_id = make_suite(fakes)
    schedule = schedule_of(schedules, suite_id=suite_id, cron="* * * * *")
    assert fakes.services.suites is not None
    fakes.services.suites.delete(PROJECT, suite_id)
    clock.now = datetime(2026, 12, 1, 12, 1, 3, tzinfo=UTC)
    (fired,) = schedules.tick()
    assert fired.started is None and fired.error is not None
    assert f"paused: its suite {suite_id} no longer exists" in fired.error
    assert f"autotest schedules update {schedule.id} --suite SUITE --enable" in fired.error
    stored = schedules.get(PROJECT, schedule.id)
    assert (stored.enabled, stored.next_fire_at, stored.last_error) == (False, None, fired.error)
    assert fakes.scheduler.schedules[(PROJECT, schedule.id)].state == "DISABLED"  # the AWS mirror in step
    # it fires no more: not on the next minutes, nor when EventBridge Scheduler invokes it anyway
    for _ in range(5):
        clock.advance(minutes=1)
        assert schedules.tick() == []
    assert schedules.fire(PROJECT, schedule.id, clock.now).error == "the schedule is paused"
    assert fakes.suite_store.suite_runs == {}
    # resuming it while its suite is gone is a 422 naming it; pointed at another suite it resumes
    with pytest.raises(InvalidInput, match=f"suite_id: the project has no suite {suite_id}"):
        schedules.set_enabled(PROJECT, schedule.id, True)
    resumed = schedules.update(PROJECT, schedule.id, ScheduleUpdate(suite_id=make_suite(fakes), enabled=True))
    assert resumed.enabled and fakes.scheduler.schedules[(PROJECT, schedule.id)].state == "ENABLED"
    clock.now = to_next_minute(clock.now) + timedelta(seconds=2)
    (again,) = schedules.tick()
    assert again.started is not None and again.error is None


def test_a_schedule_whose_test_was_archived_is_paused_until_resumed(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    test_id = make_test(fakes)
    schedule = schedule_of(schedules, test_id=test_id, rate="rate(1 minute)")
    fakes.services.catalog.archive_test(PROJECT, test_id)
    clock.now = datetime(2026, 12, 1, 12, 3, 3, tzinfo=UTC)  # 12:01 and 12:02 missed, 12:03 on time
    fired = service(fakes, clock, catch_up=3).tick()
    assert len(fired) == 1 and fired[0].error is not None  # paused at the first: the others are not tried
    assert f"paused: its test {test_id} is archived" in fired[0].error
    assert f"autotest tests unarchive {test_id}" in fired[0].error
    assert f"autotest schedules resume {schedule.id}" in fired[0].error
    stored = schedules.get(PROJECT, schedule.id)
    assert not stored.enabled and fakes.scheduler.schedules[(PROJECT, schedule.id)].state == "DISABLED"
    clock.advance(minutes=3)
    assert schedules.tick() == [] and runs_of(fakes, schedule.id) == []
    with pytest.raises(InvalidInput, match=f"test {test_id} is archived: unarchive it first"):
        schedules.set_enabled(PROJECT, schedule.id, True)
    fakes.services.catalog.update_test(PROJECT, test_id, TestUpdate(status=TestStatus.active))
    assert schedules.set_enabled(PROJECT, schedule.id, True).enabled
    clock.now = to_next_minute(clock.now) + timedelta(seconds=1)
    (again,) = schedules.tick()
    assert again.started is not None and len(runs_of(fakes, schedule.id)) == 1


def test_a_firing_that_cannot_start_for_another_reason_is_recorded_and_not_retried(
    fakes: FakeServices, clock: Clock
) -> None:
    schedules = service(fakes, clock)
    assert fakes.services.suites is not None
    tagged = SuiteCreate.model_validate({"name": "Tagged", "selector": {"tags": ["nightly"]}})
    suite = fakes.services.suites.create(PROJECT, tagged)  # the suite is there, with no test to run
    schedule = schedule_of(schedules, suite_id=suite.id, cron="* * * * *")
    clock.now = datetime(2026, 12, 1, 12, 1, 3, tzinfo=UTC)
    (fired,) = schedules.tick()
    assert fired.started is None and fired.error is not None and fired.error.startswith("could not start suite")
    stored = schedules.get(PROJECT, schedule.id)
    assert stored.enabled and stored.last_error == fired.error
    assert stored.next_fire_at == datetime(2026, 12, 1, 12, 2, tzinfo=UTC)
    assert schedules.tick() == []


def test_paused_schedules_do_not_fire_and_resume_from_the_next_time(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    schedule = schedule_of(schedules, test_id=make_test(fakes), cron="* * * * *")
    paused = schedules.set_enabled(PROJECT, schedule.id, False)
    assert paused.next_fire_at is None and schedules.public(paused).next_fire_times == []
    assert fakes.scheduler.schedules[(PROJECT, schedule.id)].state == "DISABLED"
    clock.advance(minutes=10)
    assert schedules.tick() == []
    assert schedules.fire(PROJECT, schedule.id, clock.now).started is None  # AWS firing a paused one: nothing
    resumed = schedules.set_enabled(PROJECT, schedule.id, True)
    assert resumed.next_fire_at == datetime(2026, 12, 1, 12, 11, tzinfo=UTC)  # nothing missed is caught up
    assert fakes.scheduler.schedules[(PROJECT, schedule.id)].state == "ENABLED"
    assert runs_of(fakes, schedule.id) == []


def test_reads_show_the_next_three_fire_times(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    schedule = schedule_of(schedules, test_id=make_test(fakes), cron="0 9 * * MON-FRI", timezone="America/New_York")
    shown = schedules.public(schedule)
    # 1 December 2026 is a Tuesday; 09:00 in New York is 14:00 UTC
    assert [t.at for t in shown.next_fire_times] == [
        datetime(2026, 12, 1, 14, tzinfo=UTC),
        datetime(2026, 12, 2, 14, tzinfo=UTC),
        datetime(2026, 12, 3, 14, tzinfo=UTC),
    ]
    assert shown.next_fire_times[0].local == "2026-12-01T09:00:00-05:00"


def test_targets_are_checked_in_the_callers_project(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    with pytest.raises(InvalidInput, match="test_id: the project has no test tst_nope"):
        schedule_of(schedules, test_id="tst_nope", cron="* * * * *")
    test_id = make_test(fakes)
    with pytest.raises(InvalidInput, match="the project has no test"):
        schedules.create("prj_other", ScheduleCreate(test_id=test_id, cron="* * * * *"))
    schedule = schedule_of(schedules, test_id=test_id, cron="* * * * *")
    with pytest.raises(NotFound):
        schedules.get("prj_other", schedule.id)
    with pytest.raises(InvalidInput, match="suite_id: the project has no suite ste_nope"):
        schedules.update(PROJECT, schedule.id, ScheduleUpdate(suite_id="ste_nope"))


def test_the_mirror_follows_every_change(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    schedule = schedule_of(schedules, test_id=make_test(fakes), cron="0 6 * * MON-FRI", timezone="Europe/Berlin")
    mirrored = fakes.scheduler.schedules[(PROJECT, schedule.id)]
    assert mirrored.expression == "cron(0 6 ? * MON,TUE,WED,THU,FRI *)" and mirrored.timezone == "Europe/Berlin"
    assert mirrored.input == {
        "project_id": PROJECT,
        "schedule_id": schedule.id,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    clock.advance(minutes=3)
    changed = schedules.update(PROJECT, schedule.id, ScheduleUpdate(rate="rate(10 minutes)"))
    mirrored = fakes.scheduler.schedules[(PROJECT, schedule.id)]
    assert changed.cron is None and mirrored.expression == "rate(10 minutes)"
    assert mirrored.start_at == changed.next_fire_at == datetime(2026, 12, 1, 12, 13, tzinfo=UTC)
    schedules.delete(PROJECT, schedule.id)
    assert (PROJECT, schedule.id) not in fakes.scheduler.schedules
    with pytest.raises(NotFound):
        schedules.get(PROJECT, schedule.id)


def test_when_the_mirror_fails_the_store_is_left_as_it_was(fakes: FakeServices, clock: Clock) -> None:
    schedules = service(fakes, clock)
    test_id = make_test(fakes)
    schedule = schedule_of(schedules, test_id=test_id, cron="0 6 * * *")
    fakes.scheduler.fail = Unavailable("EventBridge Scheduler: AWS error ThrottlingException")

    with pytest.raises(Unavailable, match="it was not saved"):
        schedule_of(schedules, test_id=test_id, cron="0 7 * * *")
    with pytest.raises(Unavailable, match="it was left as it was"):
        schedules.update(PROJECT, schedule.id, ScheduleUpdate(cron="0 8 * * *"))
    with pytest.raises(Unavailable):
        schedules.delete(PROJECT, schedule.id)

    assert [s.id for s in schedules.list_schedules(PROJECT).items] == [schedule.id]
    assert schedules.get(PROJECT, schedule.id).cron == "0 6 * * *"
    fakes.scheduler.fail = None
    assert schedules.update(PROJECT, schedule.id, ScheduleUpdate(cron="0 8 * * *")).cron == "0 8 * * *"
    assert fakes.scheduler.schedules[(PROJECT, schedule.id)].expression == "cron(0 8 * * ? *)"


@pytest.mark.parametrize(
    ("stopped_for", "catch_up", "expected"),
    [
        # stopped 12:01:19, back 2 minutes later at 12:03:19: 12:02 was missed, 12:03 is on time
        (timedelta(minutes=2), 0, ["12:03"]),
        (timedelta(minutes=2), 1, ["12:03"]),
        (timedelta(minutes=2), 2, ["12:02", "12:03"]),
        (timedelta(minutes=10), 0, ["12:11"]),
        (timedelta(minutes=10), 1, ["12:11"]),
        (timedelta(minutes=10), 2, ["12:10", "12:11"]),
        # back on 4 December at 12:01:19: three days of minutes missed, 12:01 on time
        (timedelta(days=3), 0, ["12:01"]),
        (timedelta(days=3), 1, ["12:01"]),
        (timedelta(days=3), 2, ["12:00", "12:01"]),
    ],
)
def test_after_a_stop_the_on_time_due_time_counts_as_the_catch_up(
    fakes: FakeServices, clock: Clock, stopped_for: timedelta, catch_up: int, expected: list[str]
) -> None:
    schedules = service(fakes, clock, catch_up=catch_up)
    schedule = schedule_of(schedules, test_id=make_test(fakes), cron="* * * * *")
    clock.now = datetime(2026, 12, 1, 12, 1, 0, 500_000, tzinfo=UTC)
    assert [f.due.strftime("%H:%M") for f in schedules.tick()] == ["12:01"]
    # local mode stops at 12:01:19 and comes back ``stopped_for`` later
    clock.now = datetime(2026, 12, 1, 12, 1, 19, tzinfo=UTC) + stopped_for
    back = service(fakes, clock, catch_up=catch_up)
    fired = back.tick()
    assert [f.due.strftime("%H:%M") for f in fired] == expected
    assert all(f.due > clock.now - timedelta(minutes=catch_up + 1) for f in fired)
    assert back.tick() == []
    assert len(runs_of(fakes, schedule.id)) == 1 + len(expected)
    # then on with the next minute, once
    clock.now = to_next_minute(clock.now) + timedelta(seconds=1)
    assert len(back.tick()) == 1 and back.tick() == []
    assert len(runs_of(fakes, schedule.id)) == 2 + len(expected)


def to_next_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


def test_catch_up_zero_fires_an_on_time_due_time_but_nothing_missed(fakes: FakeServices, clock: Clock) -> None:
    schedule = schedule_of(service(fakes, clock), test_id=make_test(fakes), cron="0 * * * *")
    back = service(fakes, clock, catch_up=0)
    clock.now = START + timedelta(hours=2, seconds=-10)  # 14:00:20: 13:00 missed, 14:00 on time
    assert [f.due.hour for f in back.tick()] == [14]
    assert len(runs_of(fakes, schedule.id)) == 1


def test_a_suite_schedule_whose_labels_with_the_suites_overflow_a_run_is_a_422_when_saved(
    fakes: FakeServices, clock: Clock
) -> None:
    from shared.models.suites import SuiteCreate

    schedules = service(fakes, clock)
    assert fakes.services.suites is not None
    suite = fakes.services.suites.create(
        PROJECT, SuiteCreate(name="Many", tests=[make_test(fakes)], labels={f"s{i}": "x" for i in range(15)})
    )
    with pytest.raises(InvalidInput, match="labels: the suite's and the run's together are 25"):
        schedule_of(schedules, suite_id=suite.id, cron="* * * * *", labels={f"r{i}": "y" for i in range(10)})
    schedule = schedule_of(schedules, suite_id=suite.id, cron="* * * * *", labels={"s1": "over"})  # overrides: 15
    with pytest.raises(InvalidInput, match="together are 21"):
        schedules.update(PROJECT, schedule.id, ScheduleUpdate(labels={f"r{i}": "y" for i in range(6)}))
