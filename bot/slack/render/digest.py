"""The daily digest: the day's incidents, what still fails, what is paused or muted, budgets.

:func:`digest` takes a :class:`DigestView` (plain values, gathered by :mod:`bot.alerts.digest`)
and ``now`` and returns one channel post. A quiet day is one line. Each list stops at
:data:`LIST_CAP` lines ("…and N more"), so a bad day still fits one message. Refs are shown as
channel posts show them (a Cronhub monitor's code cut to 8 characters); names are escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from slack_sdk.models.blocks import Block, ContextBlock

from bot.chat.durations import humanize
from bot.slack.render.alerts import LIST_CAP, NAME_LIMIT, AlertMessage
from bot.slack.render.messages import MESSAGE_BLOCKS, mrkdwn, packed_sections, section
from bot.slack.render.text import escape, fit, inline, job_name, ref_code, slack_date

T = TypeVar("T")
BUSY_BUDGET = 0.8  # a day that used this share of an account's budget is worth a line


@dataclass(frozen=True)
class DigestIncident:
    ref: str
    job_name: str
    opened_at: datetime
    resolved_at: datetime | None = None
    acked_by: str | None = None  # a Slack user id
    flapping: bool = False

    def downtime(self, now: datetime) -> float:
        return ((self.resolved_at or now) - self.opened_at).total_seconds()


@dataclass(frozen=True)
class DigestJob:
    """A paused job."""

    ref: str
    name: str


@dataclass(frozen=True)
class DigestMute:
    ref: str
    name: str | None  # None: not in the listing (gone, or its account did not answer)
    until: datetime | None  # None: until the job recovers
    created_by: str


@dataclass(frozen=True)
class DigestBudget:
    """An account's daily request budget: requests on the UTC day before and today so far."""

    account: str
    provider_label: str
    limit: int
    yesterday: int
    today: int

    @property
    def busy(self) -> bool:
        return max(self.yesterday, self.today) >= self.limit * BUSY_BUDGET


@dataclass(frozen=True)
class DigestView:
    """What the digest tells about ``since`` .. ``until``, and how things stand now."""

    since: datetime
    until: datetime
    opened: Sequence[DigestIncident]  # opened in the window
    resolved: Sequence[DigestIncident]  # resolved in the window
    failing: Sequence[DigestIncident]  # open now
    paused: Sequence[DigestJob]
    muted: Sequence[DigestMute]
    budgets: Sequence[DigestBudget]
    unknown: Sequence[tuple[str, str]] = ()  # (account, why its paused jobs are not known)
    paused_as_of: datetime | None = None  # the listing came from a cache this old

    @property
    def longest(self) -> DigestIncident | None:
        """The resolved incident that was down longest."""
        return max(self.resolved, key=lambda i: i.downtime(self.until), default=None)

    @property
    def quiet(self) -> bool:
        """Nothing happened, nothing needs anyone: no incident, nothing failing, paused or
        muted, no account unknown or close to its budget."""
        return not (
            self.opened or self.resolved or self.failing or self.paused or self.muted
            or self.unknown or any(b.busy for b in self.budgets)
        )  # fmt: skip


def digest(view: DigestView, *, now: datetime) -> AlertMessage:
    """The day's summary for ``alerts.digest.channel``: one line when all is quiet."""
    since = slack_date(view.since)
    if view.quiet:
        line = (
            f"🗓️ *Daily digest*: all quiet since {since} — no incidents, nothing failing,"
            " paused or muted."
        )
        return AlertMessage("cronops daily digest: all quiet", [section(line)])
    lines = [f"🗓️ *Daily digest* since {since}", _incidents_line(view)]
    lines += _incidents(view)
    lines += _capped(f"*🔴 Still failing ({len(view.failing)})*", view.failing, _failing(now))
    lines += _capped(f"*⏸️ Paused ({len(view.paused)})*", view.paused, _paused)
    lines += _capped(f"*🔕 Muted ({len(view.muted)})*", view.muted, _muted)
    lines += _capped("*Request budgets*", view.budgets, _budget)
    blocks: list[Block] = packed_sections(lines, MESSAGE_BLOCKS - 1)
    if notes := _notes(view):
        blocks.append(ContextBlock(elements=[mrkdwn(fit(note, 2000)) for note in notes[:10]]))
    return AlertMessage(_text(view), blocks)


def _incidents_line(view: DigestView) -> str:
    counts = f"*{len(view.opened)} opened · {len(view.resolved)} resolved*"
    longest = view.longest
    if longest is None:
        return counts
    down = humanize((longest.resolved_at or view.until) - longest.opened_at)
    return f"{counts} · longest downtime {down}: {_job(longest.ref, longest.job_name)}"


def _incidents(view: DigestView) -> list[str]:
    """Each incident opened or resolved in the window, with how it ended (or not)."""
    seen: dict[tuple[str, datetime], DigestIncident] = {}
    for incident in [*view.opened, *view.resolved]:
        seen.setdefault((incident.ref, incident.opened_at), incident)
    shown = sorted(seen.values(), key=lambda i: i.opened_at)
    return _capped("*Incidents*", shown, _incident)


def _incident(incident: DigestIncident) -> str:
    opened = f"opened {slack_date(incident.opened_at)}"
    if incident.resolved_at is not None:
        state = f"recovered after {humanize(incident.resolved_at - incident.opened_at)}"
    else:
        state = "still failing"
    return f"• {_job(incident.ref, incident.job_name)} — {opened}, {state}"


def _failing(now: datetime) -> Callable[[DigestIncident], str]:
    def line(incident: DigestIncident) -> str:
        parts = [f"failing for {humanize(now - incident.opened_at)}"]
        if incident.flapping:
            parts.append("flapping")
        if incident.acked_by:
            parts.append(f"acknowledged by <@{escape(incident.acked_by)}>")
        return f"• {_job(incident.ref, incident.job_name)} — {' · '.join(parts)}"

    return line


def _paused(job: DigestJob) -> str:
    return f"• {_job(job.ref, job.name)}"


def _muted(mute: DigestMute) -> str:
    name = _job(mute.ref, mute.name) if mute.name is not None else ref_code(mute.ref)
    until = f"until {slack_date(mute.until)}" if mute.until else "until it recovers"
    return f"• {name} — {until}, by <@{escape(mute.created_by)}>"


def _budget(budget: DigestBudget) -> str:
    where = f"`{inline(budget.account, 100)}` ({inline(budget.provider_label, 100)})"
    warn = " ⚠️" if budget.busy else ""
    return (
        f"• {where}: {budget.yesterday} of {budget.limit} requests yesterday (UTC), "
        f"{budget.today} so far today{warn}"
    )


def _notes(view: DigestView) -> list[str]:
    notes = []
    if view.paused_as_of is not None:
        notes.append(f"Paused jobs as of {slack_date(view.paused_as_of)}.")
    for account, why in view.unknown:
        notes.append(f"Paused jobs of `{inline(account, 100)}` not known: {inline(why, 300)}")
    return notes


def _text(view: DigestView) -> str:
    return (
        f"cronops daily digest: {len(view.opened)} opened, {len(view.resolved)} resolved, "
        f"{len(view.failing)} failing, {len(view.paused)} paused, {len(view.muted)} muted"
    )


def _job(ref: str, name: str) -> str:
    return f"{ref_code(ref)} *{job_name(name, NAME_LIMIT)}*"


def _capped(head: str, items: Sequence[T], line: Callable[[T], str]) -> list[str]:
    """``head`` and a line per item, at most :data:`LIST_CAP`, then "…and N more"; nothing
    for no items."""
    if not items:
        return []
    shown = [line(item) for item in items[:LIST_CAP]]
    if len(items) > LIST_CAP:
        shown.append(f"…and {len(items) - LIST_CAP} more")
    return [head, *shown]
