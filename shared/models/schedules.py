"""Schedules: a suite or a test started on a ``cron`` or ``rate`` expression in a time zone.

The expressions and the time zone are checked here (``shared/schedule_expressions.py``), so a bad one is a 422
that says what is wrong, from the API and from the CLI's file check alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from shared.models.common import Model, Name, ObjectId, StorableInput, Variables, VarValue
from shared.models.priority import DEFAULT_PRIORITY, Priority
from shared.models.runs import Labels
from shared.schedule_expressions import ExpressionError, normal_rate, parse_cron, parse_rate, parse_timezone

#: EventBridge Scheduler puts the time an invocation was scheduled for here (a context attribute of the target's
#: input)
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def _checked(normal: Callable[[str], str], kind: str) -> Any:
    """Check a value and store it in its normal form (cron fields and rates with single spaces)."""

    def check(value: str) -> str:
        try:
            return normal(value)
        except ExpressionError as exc:
            # a custom error's message is shown as it is (a ValueError's gets "Value error, " in front)
            raise PydanticCustomError(kind, str(exc)) from None

    return AfterValidator(check)


def _zone_name(name: str) -> str:
    parse_timezone(name)
    return name


CronText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), _checked(lambda v: parse_cron(v).text, "cron_expression")
]
RateText = Annotated[str, StringConstraints(min_length=1, max_length=100), _checked(normal_rate, "rate_expression")]
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), _checked(_zone_name, "time_zone")]
ScheduleTarget = Literal["suite", "test"]


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("schedule", message)


class ScheduleCreate(StorableInput):
    """A new schedule (`POST /v1/schedules`): what it starts (`suite_id` or `test_id`) and when (`cron` or
    `rate`, read in `timezone`). The same shape is the CLI's schedule file (`autotest schedules create -f`)."""

    name: Name | None = None
    """A name to tell it by (1 to 200 characters); optional."""
    suite_id: ObjectId | None = None
    """The suite it starts a suite run of (`ste_...`); give this or `test_id`."""
    test_id: ObjectId | None = None
    """The test it starts a run of (`tst_...`); give this or `suite_id`."""
    cron: CronText | None = None
    """When it fires, as 5 fields: `minute hour day-of-month month day-of-week` (`0 6 * * MON-FRI`: 06:00 on
    weekdays), read on the wall clock of `timezone`; numbers, names, ranges, lists and steps; `@daily`,
    `@hourly` ... too. Give this or `rate`. On the day the clocks go forward a time that does not exist is
    skipped; on the day they go back a time that happens twice fires once."""
    rate: RateText | None = None
    """How often it fires, as a fixed duration counted from the start of the minute it was set in:
    `rate(5 minutes)` set at 05:12:17 fires at 05:17:00, 05:22:00, ...; `rate(1 hour)`, `rate(2 days)` (at most
    once a minute). Give this or `cron`."""
    timezone: TimeZoneName = "UTC"
    """The IANA time zone `cron` is read in (`Europe/Berlin`, `America/New_York`). Default: `UTC`."""
    variables: Variables = Field(default_factory=dict)
    """Variables for each run it starts, over the suite's or test's own (up to 200)."""
    labels: Labels = Field(default_factory=dict)
    """Labels each run it starts carries (`environment: staging`), up to 20."""
    enabled: bool = True
    """Whether it fires; `false` creates it paused."""
    priority: Priority = DEFAULT_PRIORITY
    """The priority of the runs it starts (`high`, `normal` or `low`; a suite run's children all get it): workers
    take high before normal before low. Default: `normal`."""

    @model_validator(mode="after")
    def _one_of_each(self) -> ScheduleCreate:
        if (self.suite_id is None) == (self.test_id is None):
            raise _problem("give exactly one of 'suite_id' (a suite) or 'test_id' (a test)")
        if (self.cron is None) == (self.rate is None):
            raise _problem("give exactly one of 'cron' (e.g. '0 6 * * *') or 'rate' (e.g. 'rate(5 minutes)')")
        return self


class ScheduleUpdate(StorableInput):
    """Changes to a schedule (`PATCH /v1/schedules/{id}`): the fields given replace the stored ones; at least
    one. `suite_id` replaces a `test_id` and the other way round; `cron` replaces a `rate` and the other way
    round. `enabled: false` pauses it, `true` resumes it (from the next fire time: nothing missed meanwhile)."""

    name: Name | None = None
    """A new name, or null for none."""
    suite_id: ObjectId | None = None
    """Start this suite instead."""
    test_id: ObjectId | None = None
    """Start this test instead."""
    cron: CronText | None = None
    """Fire on this cron expression instead."""
    rate: RateText | None = None
    """Fire at this rate instead (counted from the start of the current minute)."""
    timezone: TimeZoneName | None = None
    """Read `cron` in this IANA time zone instead."""
    variables: Variables | None = None
    """Replace the variables."""
    labels: Labels | None = None
    """Replace the labels."""
    enabled: bool | None = None
    """`false` pauses it, `true` resumes it."""
    priority: Priority | None = None
    """Start its runs at this priority (`high`, `normal` or `low`) from its next firing on."""

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleUpdate:
        given = self.model_fields_set
        if not given:
            raise _problem("nothing to update: give at least one of the schedule's fields")
        nulls = [f for f in sorted(given - {"name"}) if getattr(self, f) is None]
        if nulls:
            raise _problem(f"{', '.join(nulls)} cannot be null")
        if {"suite_id", "test_id"} <= given:
            raise _problem("give one of 'suite_id' or 'test_id', not both")
        if {"cron", "rate"} <= given:
            raise _problem("give one of 'cron' or 'rate', not both")
        return self


class Schedule(Model):
    """The stored schedule; ``version`` guards every write (optimistic concurrency)."""

    id: str
    project_id: str
    name: str | None = None
    suite_id: str | None = None
    test_id: str | None = None
    cron: str | None = None
    rate: str | None = None
    timezone: str = "UTC"
    variables: dict[str, VarValue] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    #: the priority of the runs it starts
    priority: Priority = DEFAULT_PRIORITY
    #: when the expression was set, to the minute: a rate's intervals count from it
    anchor_at: datetime
    created_at: datetime
    updated_at: datetime
    #: the last due time it fired for (a run or suite run was started for it, or could not be)
    last_fired_for: datetime | None = None
    #: the run or suite run started for ``last_fired_for``
    last_run_id: str | None = None
    #: why the last firing started nothing (its suite was deleted...), or None
    last_error: str | None = None
    #: the next due time it has not fired for (None while paused): what local mode's loop looks up
    next_fire_at: datetime | None = None
    version: int = 1

    @property
    def target(self) -> ScheduleTarget:
        return "suite" if self.suite_id else "test"


class FireTime(Model):
    """One time a schedule fires."""

    at: datetime
    """The instant, in UTC."""
    local: str
    """The same instant on the schedule's time zone's clock (ISO 8601 with its offset)."""


class SchedulePublic(Model):
    """A schedule, with the next times it fires."""

    id: str
    """The schedule's id (`sch_...`)."""
    name: str | None
    """Its name, or null."""
    target: ScheduleTarget
    """What it starts: a `suite` run or a `test` run."""
    suite_id: str | None
    """The suite it starts, or null."""
    test_id: str | None
    """The test it starts, or null."""
    target_name: str | None = None
    """The name of the suite or test it starts, as it is now; null when that is gone (deleted)."""
    cron: str | None
    """Its cron expression, or null."""
    rate: str | None
    """Its rate expression, or null."""
    timezone: str
    """The IANA time zone its cron expression is read in."""
    variables: dict[str, VarValue]
    """Variables of the runs it starts."""
    labels: dict[str, str]
    """Labels of the runs it starts."""
    enabled: bool
    """Whether it fires (false: paused)."""
    priority: Priority = DEFAULT_PRIORITY
    """The priority of the runs it starts: `high`, `normal` or `low`."""
    next_fire_times: list[FireTime]
    """The next 3 times it fires (none while paused)."""
    last_fired_for: datetime | None
    """The last due time it fired for (UTC), or null."""
    last_run_id: str | None
    """The run (`run_...`) or suite run (`srn_...`) it started then, or null."""
    last_error: str | None
    """Why its last firing started nothing, or null."""
    created_at: datetime
    """When it was created (UTC)."""
    updated_at: datetime
    """When it last changed (UTC)."""

    @classmethod
    def of(cls, schedule: Schedule, next_times: list[FireTime], *, target_name: str | None = None) -> SchedulePublic:
        return cls.model_validate(
            schedule.model_dump()
            | {
                "target": schedule.target,
                "target_name": target_name,
                "next_fire_times": [t.model_dump() for t in next_times],
            }
        )


class MirroredSchedule(Model):
    """What EventBridge Scheduler holds for a schedule: the AWS forms of its expression and state, and the input
    its target (``functions/scheduler``) is invoked with."""

    name: str
    expression: str
    timezone: str
    state: Literal["ENABLED", "DISABLED"]
    start_at: datetime | None = None
    input: dict[str, str]

    @classmethod
    def of(cls, schedule: Schedule, *, start_at: datetime | None) -> MirroredSchedule:
        rate, cron = schedule.rate, schedule.cron or ""
        expression = parse_rate(rate, stored=True).aws if rate else parse_cron(cron, stored=True).aws
        return cls(
            name=schedule.id,
            expression=expression,
            timezone=schedule.timezone,
            state="ENABLED" if schedule.enabled else "DISABLED",
            start_at=start_at,
            input={"project_id": schedule.project_id, "schedule_id": schedule.id, "scheduled_time": SCHEDULED_TIME},
        )


__all__ = [
    "SCHEDULED_TIME",
    "FireTime",
    "MirroredSchedule",
    "Schedule",
    "ScheduleCreate",
    "SchedulePublic",
    "ScheduleTarget",
    "ScheduleUpdate",
]
