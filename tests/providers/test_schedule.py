"""Schedules in words and their next runs (providers/schedule.py)."""

from __future__ import annotations

import pytest

from providers.schedule import Schedule


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
