"""Schedule expressions: 5-field ``cron`` and ``rate(N unit)``, checked, turned into EventBridge Scheduler's
forms, and evaluated into fire times.

Both local mode's scheduler loop and EventBridge Scheduler fire by the same rules, which are EventBridge
Scheduler's (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):

- a cron expression is read on the wall clock of the schedule's time zone. On the day the clocks go forward,
  a time that does not exist (02:30 in Europe/Berlin on the last Sunday of March) is skipped; on the day they
  go back, a time that happens twice fires once, the first time;
- a rate is a fixed duration (``rate(1 day)`` is 24 hours, whatever the clocks do), counted from an anchor.

Matching a cron expression against wall-clock times is croniter's (on naive local times, so it never sees a
clock change); placing each match on the UTC timeline, and dropping or de-duplicating it around a change, is
zoneinfo's. croniter alone, on zone-aware times, fires a daily 02:30 twice on the day the clocks go back.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
DAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_DAY_NAMES = {number: name for name, number in DAYS.items()}
#: the shorthands croniter knows, as the five fields they stand for
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
#: (name, lowest, highest, names) of the five fields
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),  # 7 is Sunday too
)
_ITEM = re.compile(r"^(?P<range>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[^/]*))?$")
_RATE = re.compile(r"^rate\(\s*(?P<value>[^\s)]+)\s+(?P<unit>[A-Za-z]+)\s*\)$")
RateUnit = Literal["minute", "hour", "day"]
_UNIT_DELTA: dict[str, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
#: a match of a cron expression is looked for among this many wall-clock candidates before giving up
_MAX_CANDIDATES = 10_000
#: the most a clock change moves the wall clock (Lord Howe's is 30 minutes, most are an hour)
_MAX_SHIFT = timedelta(hours=3)


class ExpressionError(ValueError):
    """An expression or time zone that cannot be used; the message says what is wrong with it."""


def _is_number(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes superscripts and Arabic-Indic digits, which no scheduler
    reads as numbers)."""
    return text.isascii() and text.isdigit()


def _not_ascii_digits(text: str) -> str:
    odd = next((c for c in text if c.isdigit() and not c.isascii()), None)
    return f" ({odd!r} is not an ASCII digit: write numbers with 0-9)" if odd is not None else ""


_SEPARATORS = re.compile(r"[ \t]+")


def _fields_of(text: str, what: str, *, separate: str = "separate the fields with spaces") -> list[str]:
    """``text`` split at runs of spaces and tabs (which are normalised to single spaces); any other whitespace
    or control character is refused, named with its position."""
    for index, char in enumerate(text):
        if char not in " \t" and (char.isspace() or not char.isprintable()):
            raise ExpressionError(
                f"{what}: character {index + 1} is U+{ord(char):04X}, a control or whitespace character: {separate}"
            )
    return [field for field in _SEPARATORS.split(text) if field]


@dataclass(frozen=True)
class Cron:
    """A checked 5-field cron expression: the values each field takes."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0-6, Sunday 0
    any_day: bool  # day of month is '*'
    any_weekday: bool  # day of week is '*'

    @property
    def canonical(self) -> str:
        """The same expression in plain numbers, ranges and lists (what croniter is given)."""
        return " ".join(
            (
                _compact(self.minutes, 0, 59),
                _compact(self.hours, 0, 23),
                "*" if self.any_day else _compact(self.days, 1, 31),
                _compact(self.months, 1, 12),
                "*" if self.any_weekday else _compact(self.weekdays, 0, 6),
            )
        )

    @property
    def aws(self) -> str:
        """EventBridge Scheduler's form: ``cron(minutes hours day-of-month month day-of-week year)``, one of the
        two day fields ``?``, days of the week by name (AWS numbers them 1-7 from Sunday, cron 0-6)."""
        if self.any_weekday:
            day, weekday = ("*" if self.any_day else _compact(self.days, 1, 31)), "?"
        else:
            day, weekday = "?", ",".join(_DAY_NAMES[d] for d in self.weekdays)
        fields = (_compact(self.minutes, 0, 59), _compact(self.hours, 0, 23), day, _compact(self.months, 1, 12))
        return f"cron({' '.join(fields)} {weekday} *)"


@dataclass(frozen=True)
class Rate:
    """A checked ``rate(N unit)``."""

    value: int
    unit: RateUnit

    @property
    def interval(self) -> timedelta:
        return self.value * _UNIT_DELTA[self.unit]

    @property
    def aws(self) -> str:
        return f"rate({self.value} {self.unit}{'' if self.value == 1 else 's'})"


def _compact(values: tuple[int, ...], low: int, high: int) -> str:
    """``(0, 1, 2, 5)`` -> ``0-2,5``; every value -> ``*``."""
    if values == tuple(range(low, high + 1)):
        return "*"
    parts: list[str] = []
    start = previous = values[0]
    for value in (*values[1:], None):
        if value is not None and value == previous + 1:
            previous = value
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(parts)


def _value(token: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if _is_number(token):
        number = int(token)
    elif token.upper() in names:
        number = names[token.upper()]
    else:
        if names:
            shown = "a day name (SUN-SAT)" if names is DAYS else "a month name (JAN-DEC)"
            raise ExpressionError(f"{name} {token!r} is not a number or {shown}")
        raise ExpressionError(f"{name} {token!r} is not a number")
    if not low <= number <= high:
        sunday = " (0 and 7 are Sunday)" if names is DAYS else ""
        raise ExpressionError(f"{name} {number} is out of range {low}-{high}{sunday}")
    return number


_UNSUPPORTED = re.compile(r"[?#]|^L|L$|\dW$|^W$|^LW$", re.IGNORECASE)


def _field(text: str, name: str, low: int, high: int, names: dict[str, int], *, stored: bool = False) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        if _UNSUPPORTED.search(item) and item.upper() not in names:
            raise ExpressionError(
                f"{name} {item!r} is not supported: use numbers, names, ranges (1-5), lists (1,15) and steps (*/10)"
            )
        match = _ITEM.match(item)
        if match is None:
            raise ExpressionError(f"{name} {item!r} is not a number, a range (a-b), '*' or a step (*/n)")
        part, step_text = match.group("range"), match.group("step")
        step = 1
        top = high if name != "day of week" else 6  # 7 is Sunday again
        if step_text is not None:
            if not _is_number(step_text) or int(step_text) < 1:
                raise ExpressionError(
                    f"the step in {name} {item!r} must be a whole number, 1 or more{_not_ascii_digits(step_text)}"
                )
            step = int(step_text)
            if step > top - low and not stored:
                raise ExpressionError(
                    f"the step in {name} {item!r} is larger than the field's range {low}-{top}: it would only ever "
                    f"take its first value; steps go up to {top - low}"
                )
        if part == "*":
            first, last = low, top
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if first > last:
                raise ExpressionError(f"{name} range {part} runs backwards")
        else:
            first = _value(part, name, low, high, names)
            last = top if step_text is not None else first
        values.update(range(first, last + 1, step))
    return values


def parse_cron(text: str, *, stored: bool = False) -> Cron:
    """A 5-field cron expression (``minute hour day-of-month month day-of-week``, or ``@daily`` and the other
    shorthands); ExpressionError saying what is wrong otherwise. ``stored``: one saved before the checks of
    steps and separators were as strict as they are now, read as it was then."""
    shown = text.strip(" \t")
    what = f"{shown!r} is not a valid cron expression"
    shown = " ".join(shown.split() if stored else _fields_of(shown, what))
    expanded = MACROS.get(shown.lower(), shown)
    fields = expanded.split(" ")
    if len(fields) != 5:
        extra = (
            " (seconds and years are not supported: a schedule fires at most once a minute)" if len(fields) > 5 else ""
        )
        raise ExpressionError(
            f"{what}: it needs 5 fields (minute hour day-of-month month day-of-week), it has {len(fields)}{extra}"
        )
    try:
        sets = [
            _field(f, name, low, high, names, stored=stored)
            for f, (name, low, high, names) in zip(fields, _FIELDS, strict=True)
        ]
    except ExpressionError as exc:
        raise ExpressionError(f"{what}: {exc}") from None
    minutes, hours, days, months, weekdays = sets
    weekdays = {0 if d == 7 else d for d in weekdays}
    any_day, any_weekday = fields[2] == "*", fields[4] == "*"
    if not any_day and not any_weekday:
        raise ExpressionError(
            f"{what}: give a day of month or a day of week, not both ('*' in the other): EventBridge Scheduler "
            "cannot fire on either of two"
        )
    if not any_day and not any(min(days) <= _longest_month(m) for m in months):
        raise ExpressionError(f"{what}: it never fires (no month it names has a day {min(days)})")
    cron = Cron(
        text=" ".join(fields) if shown not in MACROS else shown,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=tuple(sorted(days)),
        months=tuple(sorted(months)),
        weekdays=tuple(sorted(weekdays)),
        any_day=any_day,
        any_weekday=any_weekday,
    )
    if not croniter.is_valid(cron.canonical):  # our reading and croniter's must agree
        raise ExpressionError(f"{what}")
    return cron


def _longest_month(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


def parse_rate(text: str, *, stored: bool = False) -> Rate:
    """``rate(N minute|minutes|hour|hours|day|days)``, N 1 or more; ExpressionError otherwise. ``stored``: one
    saved before digits and separators were checked as strictly as they are now, read as it was then."""
    shown = text.strip() if stored else text.strip(" \t")
    what = f"{shown!r} is not a valid rate expression"
    if not stored:
        _fields_of(shown, what, separate="write it with spaces, as rate(5 minutes)")
    match = _RATE.match(shown)
    if match is None:
        raise ExpressionError(f"{what}: write it as rate(N unit), e.g. rate(5 minutes), rate(1 hour), rate(2 days)")
    value, unit = match.group("value"), match.group("unit").lower()
    if unit in ("second", "seconds"):
        raise ExpressionError(f"{what}: a schedule fires at most once a minute (units: minutes, hours, days)")
    singular = unit.removesuffix("s")
    if singular not in _UNIT_DELTA:
        raise ExpressionError(f"{what}: the unit {match.group('unit')!r} is not minute(s), hour(s) or day(s)")
    if not (value.isdigit() if stored else _is_number(value)) or int(value) < 1:
        raise ExpressionError(f"{what}: {value!r} is not a whole number, 1 or more{_not_ascii_digits(value)}")
    number = int(value)
    if number > 10_000:
        raise ExpressionError(f"{what}: {number} {unit} is too long a time (10,000 at most)")
    return Rate(value=number, unit=singular)  # type: ignore[arg-type]


def normal_rate(text: str) -> str:
    """A checked rate expression as stored: ``rate(N unit)``, spaces and tabs normalised."""
    rate = parse_rate(text)
    match = _RATE.match(text.strip(" \t"))
    assert match is not None
    return f"rate({rate.value} {match.group('unit')})"


#: names in the zone directory that are not time zones of the tz database: ``localtime`` (a link to the host's
#: zone, different on every machine), ``Factory`` (the database's "zone unknown" placeholder), ``posixrules``
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


def parse_timezone(name: str, *, stored: bool = False) -> ZoneInfo:
    """An IANA time zone of the tz database (``Europe/Berlin``, ``UTC``); ExpressionError otherwise. ``stored``:
    one saved before ``localtime`` and ``Factory`` were refused, read as it was then."""
    if stored:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ExpressionError(f"{name!r} is not an IANA time zone") from None
    if name in _NOT_ZONES:
        raise ExpressionError(
            f"{name!r} is not an IANA time zone of the tz database (it is not a place's zone): name one, such as "
            "'UTC', 'Europe/Berlin', 'America/New_York'"
        )
    if name not in _zones():
        raise ExpressionError(f"{name!r} is not an IANA time zone (such as 'UTC', 'Europe/Berlin', 'America/New_York')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(f"{name!r} is not an IANA time zone") from None


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(
            z for z in available_timezones() if z not in _NOT_ZONES and not z.startswith(("posix/", "right/"))
        ) | {"UTC"}
    return _ZONES


def _placed(naive: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant a wall-clock time of ``zone`` stands for: the first of two when the clocks go back, None
    when it does not exist (the clocks jumped over it)."""
    instant = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return instant


def cron_times_after(cron: Cron, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """The fire times of ``cron`` read in ``zone`` strictly after ``after``, in order (UTC)."""
    local = after.astimezone(zone).replace(tzinfo=None)
    matches = croniter(cron.canonical, local)
    for _ in range(_MAX_CANDIDATES):
        instant = _placed(matches.get_next(datetime), zone)
        if instant is not None and instant > after:
            yield instant
    return


def cron_times_before(cron: Cron, zone: ZoneInfo, before: datetime) -> Iterator[datetime]:
    """The fire times of ``cron`` read in ``zone`` at or before ``before``, latest first (UTC)."""
    # a wall-clock time up to a clock change's shift later than ``before``'s may still be placed before it
    local = (before.astimezone(zone) + _MAX_SHIFT).replace(tzinfo=None)
    matches = croniter(cron.canonical, local)
    for _ in range(_MAX_CANDIDATES):
        instant = _placed(matches.get_prev(datetime), zone)
        if instant is not None and instant <= before:
            yield instant
    return


def rate_time_after(rate: Rate, anchor: datetime, after: datetime) -> datetime:
    """The first of ``anchor + k * interval`` (k >= 1) strictly after ``after``."""
    step = rate.interval
    k = max((after - anchor) // step + 1, 1)
    return anchor + k * step


def rate_time_at_or_before(rate: Rate, anchor: datetime, before: datetime) -> datetime | None:
    """The last of ``anchor + k * interval`` (k >= 1) at or before ``before``, or None."""
    k = (before - anchor) // rate.interval
    return anchor + k * rate.interval if k >= 1 else None
