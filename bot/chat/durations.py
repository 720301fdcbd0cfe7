"""Durations as people type them (`2h`, `1d`, `1h30m`) and read them (`2 h 14 min`)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*(d|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"^(\s*\d+\s*[dhms]\s*)+$", re.IGNORECASE)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

MINIMUM = timedelta(minutes=1)
MAXIMUM = timedelta(days=90)


class DurationError(ValueError):
    """What was typed is not a duration; the message says what is expected."""


def parse_duration(
    text: str, *, minimum: timedelta = MINIMUM, maximum: timedelta = MAXIMUM
) -> timedelta:
    """``"1h30m"`` -> 1:30:00. At least ``minimum`` (1 minute), at most ``maximum`` (90 days)."""
    if not _WHOLE.match(text or ""):
        raise DurationError(
            f"`{text}` is not a duration; use a number and a unit: `30m`, `2h`, `1d` or `1h30m`"
        )
    seconds = sum(int(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(text))
    value = timedelta(seconds=seconds)
    if value < minimum:
        raise DurationError(f"`{text}` is too short; the shortest duration is {humanize(minimum)}")
    if value > maximum:
        raise DurationError(f"`{text}` is too long; the longest duration is {humanize(maximum)}")
    return value


def is_duration(text: str) -> bool:
    return bool(_WHOLE.match(text or ""))


def humanize(value: timedelta) -> str:
    """Two most significant units: ``2 h 14 min``, ``3 d 4 h``, ``45 s``."""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown)


def parse_interval(text: str) -> timedelta:
    """Config intervals like ``60s`` or ``5m`` (seconds allowed, at least 1 s)."""
    return parse_duration(text, minimum=timedelta(seconds=1))
