"""Schedules in words and their next runs (providers/schedule.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from providers.schedule import Period, Schedule


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 8 1 * 1", "At 08:00, on day 1 of the month and on Monday"),
        ("0 8 1,15 * 1-5", "At 08:00, on day 1 and 15 of the month and on Monday through Friday"),
        (
            "30 7 1 jan-mar sun",
            "At 07:30, on day 1 of the month and on Sunday, January through March",
        ),
        ("0 8 * * 1", "At 08:00, only on Monday"),
        ("0 8 1 * *", "At 08:00, on day 1 of the month"),
    ],
)
def test_a_day_of_month_and_a_weekday_read_as_both_kinds_of_day(cron: str, words: str) -> None:
    assert Schedule.from_cron(cron).describe() == words


WEDNESDAY = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "after", "runs"),
    [
        ("daily", WEDNESDAY, [at(2026, 3, 5), at(2026, 3, 6), at(2026, 3, 7)]),
        # today + (weekday + 1) days, Sunday counting 0: Wed -> Sun -> Mon -> Wed
        ("weekly", WEDNESDAY, [at(2026, 3, 8), at(2026, 3, 9), at(2026, 3, 11)]),
        ("weekly", at(2026, 3, 7), [at(2026, 3, 14), at(2026, 3, 21), at(2026, 3, 28)]),
        # the same day next month, as Go's time.Date counts it: 31 January -> "31 February"
        ("monthly", WEDNESDAY, [at(2026, 4, 4), at(2026, 5, 4), at(2026, 6, 4)]),
        ("monthly", at(2026, 1, 31), [at(2026, 3, 3), at(2026, 4, 3), at(2026, 5, 3)]),
    ],
)
def test_djinn_periods_fire_when_its_server_schedules_them(
    period: Period, after: datetime, runs: list[datetime]
) -> None:
    assert Schedule.of_period(period).next_runs(after, 3) == runs


@pytest.mark.parametrize(
    ("period", "next_run", "words"),
    [
        ("daily", at(2026, 3, 5), "Daily, at the start of each UTC day"),
        ("weekly", at(2026, 3, 9), "Weekly, next Monday 00:00 UTC"),
        ("monthly", at(2026, 4, 17), "Monthly on day 17, 00:00 UTC"),
        ("weekly", None, "Weekly, at 00:00 UTC"),
        ("monthly", None, "Monthly, at 00:00 UTC"),
    ],
)
def test_djinn_periods_read_from_the_next_run_the_server_gives(
    period: Period, next_run: datetime | None, words: str
) -> None:
    assert Schedule.of_period(period, next_run=next_run).describe() == words
