"""Schedules in one shape for every provider, with words for people.

Three kinds exist across the providers:

- ``cron``: a standard 5-field expression plus an IANA timezone (cron-job.org, Cronhub, Miget);
- ``interval``: every N minutes/hours/days (Cronhub schedulers, Miget intervals);
- ``period``: Djinn CI's ``daily`` / ``weekly`` / ``monthly``, fired at 00:00 UTC as its server
  schedules them (``cron/cron.go:45-60``): daily the next day; weekly today + (weekday + 1)
  days, Sunday counting 0 (so a "weekly" cron fires Sunday, Monday, Wednesday, Sunday...,
  only Saturday's stays weekly); monthly the same day next month, the way Go's ``time.Date``
  counts it (31 January + 1 month = 3 March). The words come from the server's ``next_run``
  when the provider gives it ("Weekly, next Monday 00:00 UTC", "Monthly on day 17, 00:00 UTC").

Words come from ``cron-descriptor``; next runs and validation from ``croniter``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cron_descriptor import ExpressionDescriptor, Options, get_description
from croniter import croniter
from pydantic import BaseModel, ConfigDict, model_validator

IntervalUnit = Literal["minutes", "hours", "days"]
Period = Literal["daily", "weekly", "monthly"]


class ScheduleKind(StrEnum):
    CRON = "cron"
    INTERVAL = "interval"
    PERIOD = "period"


class ScheduleError(ValueError):
    """A schedule a person typed is not valid; the message says what is expected."""


@lru_cache(maxsize=4096)  # lists carry thousands of jobs on a few dozen distinct expressions
def validate_cron(expr: str) -> str:
    """Return the normalised 5-field expression or raise ScheduleError."""
    fields = expr.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"`{expr}` has {len(fields)} fields; a cron expression has 5: "
            "minute hour day-of-month month day-of-week, e.g. `0 3 * * *`"
        )
    normalised = " ".join(fields)
    if not croniter.is_valid(normalised):
        raise ScheduleError(
            f"`{expr}` is not a valid cron expression; expected 5 fields such as `*/15 * * * 1-5`"
        )
    return normalised


@lru_cache(maxsize=1024)
def validate_timezone(name: str) -> str:
    """Return the IANA timezone name or raise ScheduleError."""
    if name.upper() == "UTC":
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"`{name}` is not a known timezone; use an IANA name such as `Europe/Berlin` or `UTC`"
        ) from None
    return name


def known_timezones() -> list[str]:
    return sorted(available_timezones() | {"UTC"})


class Schedule(BaseModel):
    """When a job runs. Exactly the fields of its kind are set."""

    model_config = ConfigDict(frozen=True)

    kind: ScheduleKind
    cron: str | None = None
    timezone: str = "UTC"
    every: int | None = None
    unit: IntervalUnit | None = None
    at: str | None = None  # "HH:MM" for Miget daily intervals
    period: Period | None = None
    next_run: datetime | None = None  # a period's next run as the provider scheduled it

    @model_validator(mode="after")
    def _check_kind_fields(self) -> Schedule:
        if self.kind is ScheduleKind.CRON and not self.cron:
            raise ValueError("a cron schedule needs an expression")
        if self.kind is ScheduleKind.INTERVAL and (not self.every or not self.unit):
            raise ValueError("an interval schedule needs `every` and `unit`")
        if self.kind is ScheduleKind.PERIOD and not self.period:
            raise ValueError("a period schedule needs `period`")
        return self

    @classmethod
    def from_cron(cls, expr: str, timezone: str = "UTC") -> Schedule:
        return _cron_schedule(validate_cron(expr), timezone)

    @classmethod
    def as_given(cls, expr: str, timezone: str = "UTC") -> Schedule:
        """A cron schedule as a provider reports it, unchecked (its words are kept as they are)."""
        return _cron_schedule(expr, timezone)

    @classmethod
    def interval(cls, every: int, unit: IntervalUnit, at: str | None = None) -> Schedule:
        if every < 1:
            raise ScheduleError("an interval must be a positive whole number")
        return _interval_schedule(every, unit, at)

    @classmethod
    def of_period(cls, period: Period, next_run: datetime | None = None) -> Schedule:
        """A Djinn CI period; ``next_run`` is the server's, which the words are read from."""
        return cls(kind=ScheduleKind.PERIOD, period=period, timezone="UTC", next_run=next_run)

    def describe(self) -> str:
        """The schedule in words, e.g. "At 03:00" or "Every 2 hours"."""
        if self.kind is ScheduleKind.CRON:
            assert self.cron is not None
            return describe_cron(self.cron)
        if self.kind is ScheduleKind.INTERVAL:
            assert self.every is not None
            assert self.unit is not None
            unit = self.unit if self.every != 1 else self.unit.rstrip("s")
            text = f"Every {self.every} {unit}" if self.every != 1 else f"Every {unit}"
            return f"{text} at {self.at}" if self.at else text
        return _period_words(self.period or "daily", self.next_run)

    def next_runs(self, after: datetime, count: int = 3) -> list[datetime]:
        """Predicted next run times (UTC), when the schedule allows predicting them."""
        if self.kind is ScheduleKind.CRON:
            assert self.cron is not None
            tz = ZoneInfo(self.timezone) if self.timezone != "UTC" else UTC
            it = croniter(self.cron, after.astimezone(tz))
            return [it.get_next(datetime).astimezone(UTC) for _ in range(count)]
        if self.kind is ScheduleKind.PERIOD:
            return _next_periods(self.period or "daily", self.next_run, after, count)
        return []

    def interval_seconds(self) -> float | None:
        """Rough seconds between runs, for scheduling checks; None for cron schedules."""
        if self.kind is ScheduleKind.INTERVAL and self.every and self.unit:
            return self.every * {"minutes": 60, "hours": 3600, "days": 86400}[self.unit]
        if self.kind is ScheduleKind.PERIOD:
            return {"daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400}[
                self.period or "daily"
            ]
        return None


# Schedules are frozen, so one instance serves every job that shares it (lists of thousands of
# jobs carry a few dozen distinct schedules).
@lru_cache(maxsize=4096)
def _cron_schedule(expr: str, timezone: str) -> Schedule:
    return Schedule(kind=ScheduleKind.CRON, cron=expr, timezone=timezone)


@lru_cache(maxsize=1024)
def _interval_schedule(every: int, unit: IntervalUnit, at: str | None) -> Schedule:
    return Schedule(kind=ScheduleKind.INTERVAL, every=every, unit=unit, at=at)


_OPTIONS = Options()
_OPTIONS.use_24hour_time_format = True
_OPTIONS.verbose = False


@lru_cache(maxsize=4096)
def describe_cron(expr: str) -> str:
    try:
        words = str(get_description(expr, _OPTIONS))
        return _both_kinds_of_day(expr, words)
    except Exception:  # cron-descriptor raises its own bare exceptions on odd input
        return expr


_WEEKDAY_LEAD = re.compile(r", (?:or on |only on |on )?")


def _both_kinds_of_day(expr: str, words: str) -> str:
    """A day of month and a weekday both restricted run on either (cron's rule): say "and on".

    cron-descriptor writes ``on day 1 of the month, or on Monday`` for a single weekday but
    ``on day 1 and 15 of the month, Monday through Friday`` for a range, which reads as if both
    had to match. Here both read ``on day 1 of the month and on Monday``.
    """
    fields = expr.split()
    if len(fields) != 5 or {fields[2], fields[4]} & {"*", "?"}:
        return words
    weekdays = ExpressionDescriptor(expr, _OPTIONS).get_day_of_week_description()
    lead = _WEEKDAY_LEAD.match(weekdays)
    days = weekdays[lead.end() :] if lead else ""
    if not days or days.startswith("every") or weekdays not in words:
        return words  # "every 2 weeks, only on Friday" and the like stay as cron-descriptor says
    return words.replace(weekdays, f" and on {days}", 1)


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _period_words(period: Period, next_run: datetime | None) -> str:
    if period == "daily":
        return "Daily, at the start of each UTC day"
    if next_run is None:
        return f"{period.capitalize()}, at 00:00 UTC"
    when = next_run.astimezone(UTC)
    if period == "weekly":
        return f"Weekly, next {WEEKDAYS[when.weekday()]} 00:00 UTC"
    return f"Monthly on day {when.day}, 00:00 UTC"


def _next_periods(
    period: Period, next_run: datetime | None, after: datetime, count: int
) -> list[datetime]:
    """The server's next run (if still ahead, else the one it would set now), then each run's
    successor: the server sets the next run when a run starts, from that day."""
    if next_run is not None and next_run > after:
        day = next_run.astimezone(UTC).date()
    else:
        day = _period_after(period, after.astimezone(UTC).date())
    days = [day]
    while len(days) < count:
        days.append(_period_after(period, days[-1]))
    return [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days[:count]]


def _period_after(period: Period, day: date) -> date:
    """``Schedule.Next`` in Djinn's ``cron/cron.go`` for a run (or a save) on ``day``."""
    if period == "daily":
        return day + timedelta(days=1)
    if period == "weekly":
        sunday_zero = (day.weekday() + 1) % 7
        return day + timedelta(days=sunday_zero + 1)
    month = day.month + 1  # time.Date(year, month+1, day) lets the day run over the month
    first = date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return first + timedelta(days=day.day - 1)
