"""The bot's Home tab: what needs the person viewing it, with the buttons of cards and alerts.

Sections, top to bottom: failing now (acknowledged or not, for how long), paused jobs (and
when timed pauses end), muted jobs, the subscriptions of the viewer's channels, and each
account's reachability and request budget. Every section is capped ("…and N more") so the
view stays inside Slack's 100 blocks whatever the data. The buttons are those of alerts and
job cards (same action ids, so the same listeners handle them and re-check access), plus
Refresh and Unmute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.chat.durations import humanize
from bot.chat.grammar import EVERYTHING
from bot.slack.render.alerts import IncidentView, alert_buttons
from bot.slack.render.ids import ActionId, JobValue
from bot.slack.render.jobs import VALUE_LIMIT, card_buttons
from bot.slack.render.messages import SECTION_LIMIT, mrkdwn, packed_sections, section
from bot.slack.render.text import (
    KIND_LABELS,
    ago,
    escape,
    fit,
    inline,
    job_name,
    provider_label,
    ref_code,
    slack_date,
)
from providers.base import UNSUPPORTED_SENTENCES, Capability, Job

VIEW_BLOCKS = 100  # blocks in a Home tab
FAILING_SHOWN = 12  # incidents shown with their buttons (two blocks each)
PAUSED_SHOWN = 10  # paused jobs shown with their buttons (two blocks each)
MUTED_SHOWN = 10  # muted jobs shown, each with an Unmute button
LINES_SHOWN = 40  # lines of a listing section (subscriptions, accounts, timed pauses)
LINE_BLOCKS = 3  # sections those lines may take
NAME_LIMIT = 150
CONTEXT_LIMIT = 2000


@dataclass(frozen=True)
class PausedJob:
    """A paused job as last listed; ``resumes_at`` when a timed pause ends, asked for by
    ``paused_by``."""

    job: Job
    resumes_at: datetime | None = None
    paused_by: str | None = None


@dataclass(frozen=True)
class TimedResume:
    """A timed pause of a job that is in no listing the bot has read."""

    ref: str
    due_at: datetime
    requested_by: str


@dataclass(frozen=True)
class MutedJob:
    ref: str
    name: str | None  # when the bot knows it
    until: datetime | None  # None: until the job recovers
    by: str


@dataclass(frozen=True)
class ChannelSubscription:
    channel: str
    target: str  # an account, a ref, text in names, or * for every job
    except_text: str = ""  # '' for none
    created_by: str = ""


@dataclass(frozen=True)
class AccountHealth:
    account: str
    provider_label: str
    reachable: bool
    outage_since: datetime | None
    error: str | None  # the provider's sentence for the last failed poll
    failed_polls: int  # in a row
    used: int | None  # requests today
    limit: int | None  # the daily request budget, if any
    last_poll: datetime | None
    every: timedelta  # how often the poller reads it now
    listed_at: datetime | None  # when its jobs were last listed; None: not since the start


@dataclass(frozen=True)
class HomeContent:
    """Everything one person's Home shows."""

    user: str
    failing: Sequence[IncidentView] = ()
    paused: Sequence[PausedJob] = ()
    resumes: Sequence[TimedResume] = ()
    muted: Sequence[MutedJob] = ()
    subscriptions: Sequence[ChannelSubscription] = ()
    # True: the subscriptions of every channel (the viewer's channels could not be read,
    # for ``membership_problem``, Slack's error code)
    every_channel: bool = False
    membership_problem: str | None = None
    alerts_channel: str | None = None
    accounts: Sequence[AccountHealth] = ()
    notice: str | None = None  # mrkdwn: what the viewer's last button on the Home did
    notice_at: datetime | None = None


def home_view(content: HomeContent, *, now: datetime) -> View:
    """The Home tab of ``content.user``."""
    blocks: list[Block] = [*_top(content, now)]
    for part in (_failing, _paused, _muted, _subscriptions, _accounts):
        blocks += [DividerBlock(), *part(content, now)]
    return View(type="home", blocks=blocks[:VIEW_BLOCKS])


def _top(content: HomeContent, now: datetime) -> list[Block]:
    refresh = ButtonElement(text="Refresh", action_id=ActionId.HOME_REFRESH.value, value="home")
    intro = (
        f"What needs you, <@{escape(content.user)}>: failing jobs, paused and muted ones, your"
        " channels' subscriptions and the accounts."
    )
    blocks: list[Block] = [
        HeaderBlock(text="cronops"),
        SectionBlock(text=mrkdwn(fit(intro, SECTION_LIMIT)), accessory=refresh),
        _context(
            f"Updated {slack_date(now)}; again when you open this tab and when an incident"
            " opens or resolves. *Refresh* also reads the job lists again."
        ),
    ]
    if content.notice:
        when = f" — {slack_date(content.notice_at)}" if content.notice_at else ""
        blocks.append(section(f"ℹ️ {content.notice}{when}"))
    return blocks


def not_listed_text(failures: Sequence[tuple[str, str]]) -> str:
    """What *Refresh* could not read: (account, the provider's sentence) each."""
    lines = [f"`{inline(account, 100)}`: {inline(message, 300)}" for account, message in failures]
    return f"⚠️ Not listed, so its paused jobs may be out of date — {_some(lines, 5)}"


# -- failing now ----------------------------------------------------------------------------
def _failing(content: HomeContent, now: datetime) -> list[Block]:
    incidents = sorted(content.failing, key=lambda i: (i.acked_by is not None, _utc(i.opened_at)))
    blocks: list[Block] = [_header(f"🔴 Failing now ({len(incidents)})")]
    if not incidents:
        return [*blocks, section("✅ Nothing is failing.")]
    for incident in incidents[:FAILING_SHOWN]:
        blocks.append(section(_incident_text(incident, now)))
        blocks.append(ActionsBlock(elements=alert_buttons(incident)))
    rest = len(incidents) - FAILING_SHOWN
    if rest > 0:
        blocks.append(_context(f"…and {rest} more failing: `/cron list failing` shows them all."))
    return blocks


def _incident_text(incident: IncidentView, now: datetime) -> str:
    runs = f"{incident.failures} failed run{'s' if incident.failures != 1 else ''}"
    where = f"`{inline(incident.account, 100)}` ({inline(incident.provider_label, 100)})"
    lines = [
        f"🔴 *{job_name(incident.job_name, NAME_LIMIT)}* {ref_code(incident.ref)} · {where}",
        f"failing for {_for(incident.opened_at, now)} · {runs} · since"
        f" {slack_date(incident.opened_at)}",
    ]
    state = (
        f"👀 Acknowledged by <@{escape(incident.acked_by)}>"
        + (f" {slack_date(incident.acked_at)}" if incident.acked_at else "")
        if incident.acked_by
        else "⚠️ Not acknowledged"
    )
    if incident.muted:
        state += " · 🔕 Muted (the job keeps running)"
    if incident.flapping:
        state += " · 〰️ Flapping"
    return "\n".join([*lines, state])


# -- paused ---------------------------------------------------------------------------------
def _paused(content: HomeContent, now: datetime) -> list[Block]:
    paused = sorted(content.paused, key=lambda p: (p.resumes_at is None, p.job.name.casefold()))
    count = len(paused) + len(content.resumes)
    blocks: list[Block] = [_header(f"⏸️ Paused ({count})")]
    for item in paused[:PAUSED_SHOWN]:
        blocks.append(section(_paused_text(item)))
        buttons = card_buttons(item.job)
        if buttons:
            blocks.append(ActionsBlock(elements=buttons))
    rest = len(paused) - PAUSED_SHOWN
    if rest > 0:
        blocks.append(_context(f"…and {rest} more paused: `/cron list paused` shows them all."))
    if content.resumes:
        lines = [_resume_line(resume) for resume in content.resumes]
        blocks += _lines(["*Timed pauses* of jobs not listed yet:", *lines])
    if not count:
        blocks.append(section("No paused jobs in the lists read so far."))
    blocks.append(_context(_listed(content.accounts, now)))
    return blocks


def _paused_text(item: PausedJob) -> str:
    job = item.job
    head = f"⏸️ *{job_name(job.name, NAME_LIMIT)}* {ref_code(job)}"
    if item.resumes_at is not None:
        by = f" (paused by <@{escape(item.paused_by)}>)" if item.paused_by else ""
        return f"{head}\ncronops resumes it {slack_date(item.resumes_at)}{by}"
    if not job.can(Capability.RESUME):
        what = f"{KIND_LABELS.get(job.kind, 'job')}s"
        sentence = UNSUPPORTED_SENTENCES[Capability.RESUME].format(what=what)
        return f"{head}\npaused; {provider_label(job.provider)} {sentence}"
    return f"{head}\npaused until someone resumes it"


def _resume_line(resume: TimedResume) -> str:
    by = f" (paused by <@{escape(resume.requested_by)}>)" if resume.requested_by else ""
    return f"• {ref_code(resume.ref)} resumes {slack_date(resume.due_at)}{by}"


def _listed(accounts: Sequence[AccountHealth], now: datetime) -> str:
    """How old the lists behind the paused jobs are: the Home never reads them itself."""
    read = [a.listed_at for a in accounts if a.listed_at is not None]
    unread = [f"`{inline(a.account, 100)}`" for a in accounts if a.listed_at is None]
    parts = []
    if read:
        parts.append(f"Job lists as of {ago(min(read), now)}")
    if unread:
        parts.append(f"not listed yet: {_some(unread, 10)}")
    hint = "*Refresh* or `/cron list paused` reads them again."
    return f"{'; '.join(parts)}. {hint}" if parts else hint


# -- muted ----------------------------------------------------------------------------------
def _muted(content: HomeContent, now: datetime) -> list[Block]:
    muted = sorted(content.muted, key=lambda m: m.ref)
    blocks: list[Block] = [_header(f"🔕 Muted ({len(muted)})")]
    if not muted:
        return [*blocks, section("No muted jobs.")]
    for mute in muted[:MUTED_SHOWN]:
        blocks.append(_mute_row(mute))
    rest = len(muted) - MUTED_SHOWN
    if rest > 0:
        blocks.append(_context(f"…and {rest} more muted."))
    blocks.append(_context("Muting stops cronops' alerts; the job keeps running."))
    return blocks


def _mute_row(mute: MutedJob) -> SectionBlock:
    name = f" *{job_name(mute.name, NAME_LIMIT)}*" if mute.name is not None else ""
    until = f"until {slack_date(mute.until)}" if mute.until else "until it recovers"
    by = f" · by <@{escape(mute.by)}>" if mute.by else ""
    text = fit(f"🔕 {ref_code(mute.ref)}{name} — {until}{by}", SECTION_LIMIT)
    value = JobValue(ref=mute.ref).dump()
    if len(value) > VALUE_LIMIT:
        return SectionBlock(text=mrkdwn(text))
    button = ButtonElement(text="Unmute", action_id=ActionId.HOME_UNMUTE.value, value=value)
    return SectionBlock(text=mrkdwn(text), accessory=button)


# -- subscriptions --------------------------------------------------------------------------
def _subscriptions(content: HomeContent, now: datetime) -> list[Block]:
    title = "every channel" if content.every_channel else "your channels"
    blocks: list[Block] = [_header(f"📣 Subscriptions of {title}")]
    by_channel: dict[str, list[ChannelSubscription]] = {}
    for subscription in content.subscriptions:
        by_channel.setdefault(subscription.channel, []).append(subscription)
    if by_channel:
        lines = [_channel_line(channel, subs) for channel, subs in sorted(by_channel.items())]
        blocks += _lines(lines)
    else:
        none = "No channel" if content.every_channel else "None of your channels"
        blocks.append(section(f"{none} has a subscription; `/cron subscribe` in one adds it."))
    notes = []
    if content.alerts_channel:
        notes.append(f"Every alert goes to <#{escape(content.alerts_channel)}> too.")
    if content.every_channel:
        problem = content.membership_problem
        why = f" (Slack said `{inline(problem, 100)}`)" if problem else ""
        notes.append(f"cronops could not read which channels you are in{why}: all are shown.")
    if notes:
        blocks.append(_context(" ".join(notes)))
    return blocks


def _channel_line(channel: str, subscriptions: Sequence[ChannelSubscription]) -> str:
    return f"• <#{escape(channel)}>: {_some([_target(s) for s in subscriptions], 20)}"


def _target(subscription: ChannelSubscription) -> str:
    target = "every job" if subscription.target == EVERYTHING else ref_code(subscription.target)
    if subscription.except_text:
        target += f" except {ref_code(subscription.except_text)}"
    return target


# -- accounts -------------------------------------------------------------------------------
def _accounts(content: HomeContent, now: datetime) -> list[Block]:
    blocks: list[Block] = [_header(f"🔌 Accounts ({len(content.accounts)})")]
    if not content.accounts:
        return [*blocks, section("No accounts are configured.")]
    return blocks + _lines([_account_line(account, now) for account in content.accounts])


def _account_line(account: AccountHealth, now: datetime) -> str:
    name = f"*{inline(account.account, 100)}* ({inline(account.provider_label, 100)})"
    if not account.reachable:
        since = f" since {slack_date(account.outage_since)}" if account.outage_since else ""
        error = f": {inline(account.error, 300)}" if account.error else ""
        state = f"⚠️ {name} unreachable{since}{error}"
    elif account.failed_polls:
        polls = f"{account.failed_polls} failed poll{'s' if account.failed_polls != 1 else ''}"
        error = f": {inline(account.error, 300)}" if account.error else ""
        state = f"🟡 {name} reachable, last {polls}{error}"
    else:
        state = f"✅ {name} reachable"
    if account.limit:
        budget = f"{account.used or 0} / {account.limit} requests today"
    else:
        budget = "no daily request budget"
    last = f"last poll {slack_date(account.last_poll)}" if account.last_poll else "not polled yet"
    return f"{state} · {budget} · {last}, polling every {humanize(account.every)}"


# -- pieces ---------------------------------------------------------------------------------
def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=text)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(fit(text, CONTEXT_LIMIT))])


def _lines(lines: Sequence[str]) -> list[Block]:
    """At most :data:`LINES_SHOWN` lines, then "…and N more", in at most :data:`LINE_BLOCKS`
    sections."""
    shown = list(lines[:LINES_SHOWN])
    if len(lines) > LINES_SHOWN:
        shown.append(f"…and {len(lines) - LINES_SHOWN} more")
    return packed_sections(shown, LINE_BLOCKS)


def _some(items: Sequence[str], most: int) -> str:
    """``a, b, c and 4 more``."""
    shown = ", ".join(items[:most])
    return f"{shown} and {len(items) - most} more" if len(items) > most else shown


def _for(start: datetime, now: datetime) -> str:
    return humanize(_utc(now) - _utc(start))


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
