"""How long to wait before the next poll of an account so its daily budget is never exceeded.

The configured ``poll_interval`` is the fastest cronops polls. An account with a daily request
budget (cron-job.org: 100) is slowed so that what the poller may still spend today (its share,
and beyond it what people's reserve leaves: :class:`providers.budget.Rule`) lasts until the
budget resets at 00:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def next_poll_in(
    base: float,
    *,
    requests_per_poll: int,
    left: int | None,
    now: datetime,
) -> float:
    """Seconds until the next poll; ``left`` None: no budget to spread."""
    if left is None:
        return base
    until_reset = _seconds_to_midnight(now)
    if left <= 0:
        return max(base, until_reset + 1.0)
    polls_left = left / max(1, requests_per_poll)
    return max(base, until_reset / polls_left)


def _seconds_to_midnight(now: datetime) -> float:
    utc = now.astimezone(UTC)
    midnight = datetime(utc.year, utc.month, utc.day, tzinfo=UTC) + timedelta(days=1)
    return (midnight - utc).total_seconds()
