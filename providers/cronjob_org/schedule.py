"""cron-job.org schedules: five arrays of values instead of a cron expression.

A cron-job.org schedule is ``{timezone, minutes, hours, mdays, months, wdays}``, each array a
list of values or ``[-1]`` for "every" (providers.md §2.5). There is no range or step syntax, so
a cron expression is expanded to explicit lists on the way in and compressed back to ranges and
steps on the way out. :func:`schedule_body` and :func:`job_schedule` do the same for a whole
:class:`~providers.schedule.Schedule` and a job's ``schedule`` object.

When both the day of month and the weekday are restricted, cron-job.org runs a job when
**either** matches, as cron does (since 2025-09: ``api/lib/ExecutionPredictor.php:227``,
``chronos/App.cpp:362-365``), so ``0 8 1 * 1`` is the 1st of each month and every Monday.

One difference from cron that the conversion must respect: the server keeps only timezone
names in PHP's ``DateTimeZone::listIdentifiers()`` and silently stores any other as UTC
(``Job.php:253-256, 357-360``; §6). That list leaves out aliases such as ``Asia/Calcutta`` and
``Europe/Kiev``, so :func:`check_timezone` sends each alias as its canonical IANA name
(``Asia/Kolkata``, ``Europe/Kyiv``; :mod:`providers.timezones`) and refuses what has none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any, NamedTuple

from providers.schedule import (
    Schedule,
    ScheduleError,
    ScheduleKind,
    validate_cron,
    validate_timezone,
)
from providers.timezones import canonical, country_zones

EVERY = [-1]


class Field(NamedTuple):
    key: str  # the array's name in the JSON
    label: str  # for people
    low: int
    high: int
    names: tuple[str, ...] = ()  # names cron accepts, in value order from ``low``


FIELDS = (
    Field("minutes", "minute", 0, 59),
    Field("hours", "hour", 0, 23),
    Field("mdays", "day-of-month", 1, 31),
    Field(
        "months",
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    Field("wdays", "day-of-week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


@lru_cache(maxsize=1)
def php_timezones() -> frozenset[str]:
    """The names PHP's ``DateTimeZone::listIdentifiers()`` gives: the only ones the server keeps."""
    return country_zones() | {"UTC"}


def check_timezone(name: str) -> str:
    """The name cron-job.org keeps for ``name``: the name itself, or the canonical name of an
    alias (``Asia/Calcutta`` -> ``Asia/Kolkata``); ScheduleError where there is none, since the
    server would silently run the job in UTC."""
    name = validate_timezone(name.strip())
    listed = php_timezones()
    if name in listed:
        return name
    target = canonical(name)
    if target in listed:
        return target
    also = f" (another name for `{target}`, not listed either)" if target != name else ""
    raise ScheduleError(
        f"cron-job.org does not know the timezone `{name}`{also} and would run the job in UTC; "
        "use a region name such as `America/New_York` or `Europe/Berlin`, or `UTC`"
    )


def cron_to_arrays(expr: str) -> dict[str, list[int]]:
    """The five arrays for a 5-field cron expression, or ScheduleError saying what cannot be."""
    parts = validate_cron(expr).split()
    return {
        field.key: _field_values(text, field) for text, field in zip(parts, FIELDS, strict=True)
    }


def arrays_to_cron(schedule: Mapping[str, Any]) -> str | None:
    """The cron expression for the arrays; None if the job can never run (an empty array)."""
    arrays = [schedule.get(field.key) for field in FIELDS]
    lists = [values for values in arrays if isinstance(values, list) and values]
    if len(lists) != len(FIELDS):
        return None
    return _cron_text(tuple(tuple(values) for values in lists))


@lru_cache(maxsize=1024)  # a big account has thousands of jobs but few distinct schedules
def _cron_text(arrays: tuple[tuple[Any, ...], ...]) -> str:
    return " ".join(
        _field_text(values, field) for values, field in zip(arrays, FIELDS, strict=True)
    )


def schedule_body(schedule: Schedule | None) -> dict[str, Any]:
    """Timezone and all five arrays: the server fails (500) on create if one is missing.

    ``expiresAt`` is not sent, so an edit keeps an expiry set in the console.
    """
    if schedule is None or schedule.kind is not ScheduleKind.CRON or not schedule.cron:
        raise ScheduleError(
            "cron-job.org needs a cron schedule: 5 fields and a timezone, e.g. `0 3 * * *`"
        )
    timezone = check_timezone(schedule.timezone)
    return {"timezone": timezone, **cron_to_arrays(schedule.cron)}


def job_schedule(raw: dict[str, Any]) -> Schedule | None:
    expr = arrays_to_cron(raw)
    if expr is None:
        return None  # an empty array: the job never runs
    # What the server stored: a name in its list, or UTC (it keeps no other).
    timezone = str(raw.get("timezone") or "UTC")
    return Schedule.as_given(expr, timezone)


# -- cron field -> values -------------------------------------------------------------------
def _field_values(text: str, field: Field) -> list[int]:
    values: set[int] = set()
    for part in text.split(","):
        values.update(_part_values(part, field))
    if field.key == "wdays" and 7 in values:  # cron's second Sunday
        values = (values - {7}) | {0}
    if values == set(range(field.low, field.high + 1)):
        return list(EVERY)
    return sorted(values)


def _part_values(part: str, field: Field) -> range:
    base, _, step_text = part.partition("/")
    high = 7 if field.key == "wdays" else field.high
    step = _number(step_text, field, part) if step_text else 1
    if base == "*":
        first, last = field.low, field.high
    elif "-" in base:
        start, _, end = base.partition("-")
        first, last = _number(start, field, part), _number(end, field, part)
    else:
        first = _number(base, field, part)
        last = field.high if step_text else first
    if step < 1 or not field.low <= first <= last <= high:
        raise ScheduleError(
            f"`{part}` is outside the {field.label} field's {field.low}-{field.high} range"
        )
    return range(first, last + 1, step)


def _number(text: str, field: Field, part: str) -> int:
    if text.isascii() and text.isdigit():
        return int(text)
    if text.lower() in field.names:
        return field.low + field.names.index(text.lower())
    raise ScheduleError(
        f"`{part}` in the {field.label} field cannot be expressed on cron-job.org, which takes "
        "only numbers, lists, ranges and steps (no `L`, `W`, `#` or `?`)"
    )


# -- values -> cron field -------------------------------------------------------------------
def _field_text(raw: Sequence[Any], field: Field) -> str:
    if -1 in raw:
        return "*"
    # the server clamps stored values into the field's range (api/resources/Job.php)
    values = sorted({min(field.high, max(field.low, int(v))) for v in raw})
    if values == list(range(field.low, field.high + 1)):
        return "*"
    return _compress(values, field)


def _compress(values: list[int], field: Field) -> str:
    """Exact cron text for sorted values: ``*/5``, ``0-30/10``, ``1-5``, or ``1-3,7,9-12``."""
    if len(values) >= 3:
        step = values[1] - values[0]
        if all(b - a == step for a, b in pairwise(values)):
            first, last = values[0], values[-1]
            if step == 1:
                return f"{first}-{last}"
            if first == field.low and last + step > field.high:
                return f"*/{step}"
            return f"{first}-{last}/{step}"
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) >= 3 else ",".join(map(str, r)) for r in runs)
