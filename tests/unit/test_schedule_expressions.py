"""Cron and rate expressions: what is refused and why, their EventBridge Scheduler forms, and fire times on the
days the clocks change (Europe/Berlin, America/New_York)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice, pairwise

import pytest
from pydantic import ValidationError

from shared.models.schedules import ScheduleCreate, ScheduleUpdate
from shared.schedule_expressions import (
    ExpressionError,
    cron_times_after,
    cron_times_before,
    parse_cron,
    parse_rate,
    parse_timezone,
)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("0 24 * * *", "hour 24 is out of range 0-23"),
        ("0 0 32 * *", "day of month 32 is out of range 1-31"),
        ("0 0 * 13 *", "month 13 is out of range 1-12"),
        ("0 0 * * 8", "day of week 8 is out of range 0-7 (0 and 7 are Sunday)"),
        ("* * * *", "it needs 5 fields (minute hour day-of-month month day-of-week), it has 4"),
        ("*/30 * * * * *", "seconds and years are not supported: a schedule fires at most once a minute"),
        ("*/0 * * * *", "the step in minute '*/0' must be a whole number, 1 or more"),
        ("5-1 * * * *", "minute range 5-1 runs backwards"),
        ("0 0 * * FUN", "day of week 'FUN' is not a number or a day name (SUN-SAT)"),
        ("0 0 L * *", "day of month 'L' is not supported"),
        ("0 0 1 * MON", "give a day of month or a day of week, not both"),
        ("0 0 30 2 *", "it never fires (no month it names has a day 30)"),
        # digits are ASCII digits; a step fits its field; fields are separated by spaces (or tabs)
        ("*/² * * * *", "the step in minute '*/²' must be a whole number, 1 or more ('²' is not an ASCII digit"),
        ("\u0661 * * * *", "minute '\u0661' is not a number"),
        ("*/61 * * * *", "the step in minute '*/61' is larger than the field's range 0-59"),
        ("*/60 * * * *", "steps go up to 59"),
        ("0/100000000000000 * * * *", "the step in minute '0/100000000000000' is larger than the field's range"),
        ("0 */24 * * *", "the step in hour '*/24' is larger than the field's range 0-23"),
        ("0 0 * * */7", "the step in day of week '*/7' is larger than the field's range 0-6"),
        ("0 0 * */12 *", "the step in month '*/12' is larger than the field's range 1-12"),
        ("* *\n* * *", "character 4 is U+000A, a control or whitespace character: separate the fields with spaces"),
        ("* * * *\u00a0*", "character 8 is U+00A0"),
        ("* * * * *\x00", "character 10 is U+0000"),
    ],
)
def test_a_bad_cron_expression_says_what_is_wrong(expression: str, problem: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_cron(expression)
    assert str(caught.value).startswith(f"{expression!r} is not a valid cron expression: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("rate(0 minutes)", "'0' is not a whole number, 1 or more"),
        ("rate(30 seconds)", "a schedule fires at most once a minute"),
        ("rate(2 weeks)", "the unit 'weeks' is not minute(s), hour(s) or day(s)"),
        ("every 5 minutes", "write it as rate(N unit)"),
        ("rate(\u0661 minute)", "1 or more ('\u0661' is not an ASCII digit: write numbers with 0-9)"),
        ("rate(²0 minutes)", "('²' is not an ASCII digit"),
        ("rate(1\nminute)", "character 7 is U+000A"),
    ],
)
def test_a_bad_rate_expression_says_what_is_wrong(expression: str, problem: str) -> None:
    with pytest.raises(ExpressionError, match="is not a valid rate expression") as caught:
        parse_rate(expression)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "aws"),
    [
        ("*/15 9-17 * * MON-FRI", "cron(0,15,30,45 9-17 ? * MON,TUE,WED,THU,FRI *)"),
        ("0 6 1,15 * *", "cron(0 6 1,15 * ? *)"),
        ("0 0 * * 0,7", "cron(0 0 ? * SUN *)"),  # cron's 0 and 7 are Sunday; AWS's Sunday is 1: names avoid both
        ("0 0 * * 1-7/2", "cron(0 0 ? * SUN,MON,WED,FRI *)"),
        ("30 2 * JUL-DEC *", "cron(30 2 * 7-12 ? *)"),
        ("@hourly", "cron(0 * * * ? *)"),
    ],
)
def test_cron_becomes_the_six_field_aws_form(expression: str, aws: str) -> None:
    assert parse_cron(expression).aws == aws


def test_rates_take_singular_and_plural_units() -> None:
    assert parse_rate("rate(1 minute)").aws == "rate(1 minute)"
    assert parse_rate("rate(1 minutes)").aws == "rate(1 minute)"
    assert parse_rate("rate(5 hours)").aws == "rate(5 hours)"
    assert parse_rate("rate(2 day)").interval.total_seconds() == 2 * 86400


def test_time_zones_are_iana_names() -> None:
    assert str(parse_timezone("Europe/Berlin")) == "Europe/Berlin"
    with pytest.raises(ExpressionError, match="'Mars/Base' is not an IANA time zone"):
        parse_timezone("Mars/Base")
    # in the zone directory, but no zone of the tz database: the host's zone, the "unknown" placeholder
    for name in ("localtime", "Factory", "posixrules", "posix/UTC", "right/UTC", "Europe/../UTC", " UTC"):
        with pytest.raises(ExpressionError, match="is not an IANA time zone"):
            parse_timezone(name)
    # one saved before these were refused is still read
    assert str(parse_timezone("Factory", stored=True)) == "Factory"


def test_tabs_and_runs_of_spaces_are_normalised_to_single_spaces() -> None:
    assert parse_cron("0\t6  *\t\t* MON-FRI").text == "0 6 * * MON-FRI"
    created = ScheduleCreate.model_validate({"test_id": "tst_1", "cron": " 0\t6 * *  MON-FRI\t"})
    assert created.cron == "0 6 * * MON-FRI"
    assert ScheduleCreate.model_validate({"test_id": "tst_1", "rate": "rate(5\tminutes)"}).rate == "rate(5 minutes)"
    assert ScheduleUpdate.model_validate({"rate": "rate( 1  hour )"}).rate == "rate(1 hour)"


def test_expressions_saved_before_the_stricter_checks_are_still_read() -> None:
    assert parse_cron("*/61 * * * *", stored=True).minutes == (0,)
    assert parse_rate("rate(\u0661 minute)", stored=True).value == 1


def local(times: list[datetime], zone: str) -> list[str]:
    return [t.astimezone(parse_timezone(zone)).isoformat() for t in times]


@pytest.mark.parametrize(
    ("zone", "after", "expected"),
    [
        # the clocks go forward at 02:00: 02:30 does not exist that day and is skipped (as EventBridge does)
        (
            "Europe/Berlin",
            datetime(2026, 3, 28, 12, tzinfo=UTC),
            ["2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"],
        ),
        (
            "America/New_York",
            datetime(2026, 3, 7, 12, tzinfo=UTC),
            ["2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"],
        ),
        # the clocks go back at 03:00 (Berlin) / 02:00 (New York): 02:30 / 01:30 happens twice and fires once
        (
            "Europe/Berlin",
            datetime(2026, 10, 24, 12, tzinfo=UTC),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        ),
    ],
)
def test_a_daily_time_on_the_days_the_clocks_change(zone: str, after: datetime, expected: list[str]) -> None:
    times = list(islice(cron_times_after(parse_cron("30 2 * * *"), parse_timezone(zone), after), 2))
    assert local(times, zone) == expected


def test_new_york_fall_back_fires_the_repeated_hour_once() -> None:
    zone = parse_timezone("America/New_York")
    times = list(islice(cron_times_after(parse_cron("30 1 * * *"), zone, datetime(2026, 10, 31, 12, tzinfo=UTC)), 3))
    assert local(times, "America/New_York") == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
        "2026-11-03T01:30:00-05:00",
    ]


def test_every_half_hour_through_the_fall_back_hour() -> None:
    # Berlin, 25 October 2026: 02:00-02:59 happens twice (CEST, then CET); each wall-clock time fires once
    zone = parse_timezone("Europe/Berlin")
    after = datetime(2026, 10, 24, 23, 10, tzinfo=UTC)  # 01:10 CEST
    times = list(islice(cron_times_after(parse_cron("*/30 * * * *"), zone, after), 5))
    assert local(times, "Europe/Berlin") == [
        "2026-10-25T01:30:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:30:00+01:00",
    ]
    assert all(b > a for a, b in pairwise(times))
    # looking back from the second 02:10 (CET) finds the first 02:30 (CEST), which is in the past
    before = list(
        islice(cron_times_before(parse_cron("*/30 * * * *"), zone, datetime(2026, 10, 25, 1, 10, tzinfo=UTC)), 2)
    )
    assert local(before, "Europe/Berlin") == ["2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+02:00"]


def test_the_models_answer_with_where_and_what() -> None:
    with pytest.raises(ValidationError) as caught:
        ScheduleCreate.model_validate({"test_id": "tst_1", "cron": "61 * * * *"})
    (error,) = caught.value.errors()
    assert error["loc"] == ("cron",)
    assert error["msg"] == "'61 * * * *' is not a valid cron expression: minute 61 is out of range 0-59"

    with pytest.raises(ValidationError) as caught:
        ScheduleCreate.model_validate({"test_id": "tst_1", "rate": "rate(1 hour)", "timezone": "Mars/Base"})
    (error,) = caught.value.errors()
    assert error["loc"] == ("timezone",) and error["msg"].startswith("'Mars/Base' is not an IANA time zone")

    with pytest.raises(ValidationError, match="exactly one of 'suite_id'"):
        ScheduleCreate.model_validate({"rate": "rate(1 hour)"})
    with pytest.raises(ValidationError, match="exactly one of 'cron'"):
        ScheduleCreate.model_validate({"test_id": "tst_1", "cron": "* * * * *", "rate": "rate(1 hour)"})
    with pytest.raises(ValidationError, match="nothing to update"):
        ScheduleUpdate.model_validate({})
    with pytest.raises(ValidationError, match="cron cannot be null"):
        ScheduleUpdate.model_validate({"cron": None})
