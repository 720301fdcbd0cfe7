"""Alerts: an incident's alert, its updates and recovery, summaries, outage notices, mutes.

Builders take plain values and ``now`` and return an :class:`AlertMessage`. Alerts show job
URLs, so they are posted with unfurling off (:meth:`AlertMessage.payload`). Pausing (the
provider stops running the job) and muting (cronops stops alerting) are always named apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject, ContextBlock

from bot.chat.durations import humanize
from bot.chat.grammar import TargetKind
from bot.slack.render.conceal import ref_prefix, shown_url
from bot.slack.render.ids import ActionId, IncidentValue
from bot.slack.render.messages import MESSAGE_BLOCKS, mrkdwn, packed_sections, section
from bot.slack.render.text import (
    REF_LIMIT,
    code,
    duration,
    escape,
    fit,
    inline,
    job_name,
    link,
    ref_code,
    shown_ref,
    slack_date,
    truncate,
)

LIST_CAP = 20  # lines in a summary or rollup before "…and N more"
NAME_LIMIT = 150
STATUS_LIMIT = 200


@dataclass(frozen=True)
class IncidentView:
    """What an alert shows about one incident; the latest failure's details."""

    id: int
    ref: str
    account: str
    provider_label: str
    job_name: str
    opened_at: datetime
    last_seen_at: datetime
    failures: int
    http_status: int | None
    status_text: str | None
    duration_ms: int | None
    url: str | None  # build URL or the job at the provider
    resolved_at: datetime | None = None
    acked_by: str | None = None  # Slack user id
    acked_at: datetime | None = None
    muted: bool = False
    can_pause: bool = True
    flapping: bool = False  # failing and recovering by turns: one incident until it settles


@dataclass(frozen=True)
class AlertMessage:
    text: str  # the notification fallback
    blocks: list[Block]

    def payload(self) -> dict[str, Any]:
        """``chat.postMessage``/``chat.update`` arguments: validated blocks, no unfurling."""
        return {
            "text": self.text,
            "blocks": [block.to_dict() for block in self.blocks],
            "unfurl_links": False,
            "unfurl_media": False,
        }


def alert_open(incident: IncidentView, *, now: datetime) -> AlertMessage:
    """The first post: what failed, when, and Acknowledge / Pause / Mute 1h / History."""
    runs = _plural(incident.failures, "failed run")
    first = f"First failed {slack_date(incident.opened_at)} · {runs}"
    text = f"cronops alert: {_plain(incident)} is failing"
    return _failing(incident, text, f"🔴 *{_name(incident)}* is failing", first)


def alert_update(incident: IncidentView, *, now: datetime) -> AlertMessage:
    """The same message, re-rendered while the job keeps failing (and once acknowledged)."""
    runs = _plural(incident.failures, "failed run")
    status = (
        f"failing for {_elapsed(incident.opened_at, now)} · {runs}"
        f" · last seen {slack_date(incident.last_seen_at)}"
    )
    text = f"cronops alert: {_plain(incident)} is still failing ({runs})"
    return _failing(incident, text, f"🔴 *{_name(incident)}* is still failing", status)


def alert_resolved(incident: IncidentView, *, now: datetime) -> AlertMessage:
    """The alert once the job recovered: how long it failed; only History is left."""
    ended = incident.resolved_at or now
    failing = _elapsed(incident.opened_at, ended)
    runs = _plural(incident.failures, "failed run")
    head = f"✅ *{_name(incident)}* recovered after failing for {failing} ({runs})"
    blocks: list[Block] = [section(f"{head}\n{_where(incident)} · recovered {slack_date(ended)}")]
    if incident.acked_by:
        blocks.append(_context([_acked(incident)]))
    blocks.append(ActionsBlock(elements=[_button(incident, "History", ActionId.ALERT_HISTORY)]))
    text = f"cronops: {_plain(incident)} recovered after {failing}"
    return AlertMessage(text, blocks)


def resolved_reply(incident: IncidentView, *, now: datetime) -> AlertMessage:
    """The reply in the alert's thread when the job recovers."""
    ended = incident.resolved_at or now
    failing = _elapsed(incident.opened_at, ended)
    body = f"✅ Recovered {slack_date(ended)}: {ref_code(incident.ref)} was failing for {failing}"
    text = f"cronops: {_plain(incident)} recovered after {failing}"
    return AlertMessage(text, [section(body)])


def still_failing_reply(incident: IncidentView, *, now: datetime) -> AlertMessage:
    """The reply in an open alert's thread every ``alerts.renotify_after``."""
    failing = _elapsed(incident.opened_at, now)
    runs = f"{incident.failures} failed run{'s' if incident.failures != 1 else ''}"
    body = f"⏰ Still failing for {failing}, {runs}: {ref_code(incident.ref)}"
    text = f"cronops: {_plain(incident)} still failing for {failing}, {runs}"
    return AlertMessage(text, [section(body)])


def first_start_summary(
    account: str,
    provider_label: str,
    failing: Sequence[tuple[str, str, str | None]],
    *,
    now: datetime,
) -> AlertMessage:
    """One message for the jobs already failing when an account is first polled."""
    where = _account(account, provider_label)
    head = f"Already failing when monitoring of {where} started:"
    lines = [
        _job_line(ref, name, inline(status or "", STATUS_LIMIT)) for ref, name, status in failing
    ]
    context = "No alert was sent for these; cronops alerts on new failures and recoveries."
    text = f"cronops: {_plural(len(failing), 'job')} of {inline(account, 100)} already failing"
    return AlertMessage(text, [*_capped(head, lines), _context([context])])


def rollup(
    account: str,
    provider_label: str,
    incidents: Sequence[IncidentView],
    *,
    now: datetime,
) -> AlertMessage:
    """One post for many jobs of one account that started failing in the same poll."""
    count = len(incidents)
    where = _account(account, provider_label)
    head = f"🔴 {_plural(count, 'job')} of {where} started failing at once"
    lines = [_job_line(i.ref, i.job_name, _failure_summary(i)) for i in incidents]
    note = (
        f"Opened {_plural(count, 'incident')}; each job's recovery is posted in this"
        " message's thread."
    )
    text = f"cronops alert: {_plural(count, 'job')} of {inline(account, 100)} started failing"
    return AlertMessage(text, [*_capped(head, lines), _context([note])])


def account_down(account: str, provider_label: str, error: str, *, now: datetime) -> AlertMessage:
    """The one notice per outage: the account cannot be reached or rejects the key."""
    where = _account(account, provider_label)
    body = (
        f"⚠️ {where} is unreachable: {inline(error, 500)}. cronops holds job alerts"
        " for this account until it answers again; no job is marked failed."
    )
    text = f"cronops: {_plain_account(account, provider_label)} is unreachable"
    return AlertMessage(text, [section(body), _context([f"Since {slack_date(now)}"])])


def account_back(
    account: str, provider_label: str, down_since: datetime | None, *, now: datetime
) -> AlertMessage:
    """The one notice when an unreachable account answers again."""
    where = _account(account, provider_label)
    after = f" after {_elapsed(down_since, now)}" if down_since is not None else ""
    body = f"✅ {where} is reachable again{after}; job alerts for it resume."
    text = f"cronops: {_plain_account(account, provider_label)} is reachable again{after}"
    return AlertMessage(text, [section(body)])


@dataclass(frozen=True)
class Route:
    """A subscription as messages show it: what it takes (``kind`` of ``target``), the jobs it
    leaves out (``except_text``, '' for none) and, once saved, who made it and when."""

    target: str
    kind: TargetKind
    except_text: str = ""
    created_by: str | None = None  # a Slack user id
    created_at: datetime | None = None


def subscriptions_list(channel: str, routes: Sequence[Route]) -> list[Block]:
    """`/cron subscriptions`: what routes alerts to ``channel`` (a channel id), each with its
    filter, who made it and when."""
    where = f"<#{escape(channel)}>"
    if not routes:
        hint = "add one with `/cron subscribe [ACCOUNT|REF|TEXT] [--except TEXT]`"
        return [section(f"No subscriptions route alerts to {where}; {hint}.")]
    lines = [f"• {_route(route)}{_made(route)}" for route in routes]
    head = f"Alerts routed to {where} (`alerts.channel` gets every alert besides):"
    return packed_sections([head, *lines], MESSAGE_BLOCKS)


def subscribed_text(actor_id: str, channel: str, route: Route) -> str:
    """The channel post when someone routes alerts here."""
    return f"<@{actor_id}> subscribed <#{escape(channel)}> to {_alerts_for(route)}"


def already_subscribed_text(channel: str, route: Route) -> str:
    return f"<#{escape(channel)}> already gets {_alerts_for(route)}."


def cannot_post_text(channel: str, slack_error: str) -> str:
    """Why a channel was not subscribed: the bot could not post there (``slack_error`` is
    the error code Slack answered)."""
    if slack_error in ("not_in_channel", "channel_not_found"):
        how = (
            f"invite me first (`/invite @cronops` in <#{escape(channel)}>), then subscribe again."
            " Direct messages cannot be subscribed: use a channel."
        )
    else:
        how = f"Slack said {code(slack_error)}. Nothing was subscribed."
    return f"I cannot post in this conversation, so it cannot get alerts; {how}"


def unsubscribed_text(actor_id: str, channel: str, route: Route) -> str:
    return f"<@{actor_id}> unsubscribed <#{escape(channel)}> from {_alerts_for(route)}"


def not_subscribed_text(channel: str, route: Route, near: Sequence[Route] = ()) -> str:
    """No such subscription here; ``near``: the channel's subscriptions to the same target
    with another ``--except``, as they would be unsubscribed."""
    text = f"<#{escape(channel)}> does not get {_alerts_for(route)}"
    if near:
        shown = ", ".join(f"`/cron unsubscribe {_typed(r)}`" for r in near[:3])
        return f"{text}; it has the same with another filter: {shown}."
    return f"{text}; see `/cron subscriptions`."


def muted_text(actor_id: str, ref: str, until: datetime | None) -> str:
    """Muting is not pausing: say that the job keeps running."""
    when = f"until {slack_date(until)}" if until is not None else "until it recovers"
    return (
        f"<@{actor_id}> 🔕 Muted {ref_code(ref)} {when} — the job keeps running;"
        " cronops just won't alert."
    )


def unmuted_text(actor_id: str, ref: str) -> str:
    return f"<@{actor_id}> unmuted {ref_code(ref)}: its alerts are posted again"


def not_muted_text(ref: str) -> str:
    return f"{ref_code(ref)} is not muted."


def _failing(incident: IncidentView, text: str, head: str, status: str) -> AlertMessage:
    """An open incident's alert: details, acknowledged/muted notes, buttons, what they do."""
    body = "\n".join([head, _where(incident), _what_failed(incident), status])
    blocks: list[Block] = [section(body)]
    notes: list[str] = []
    if incident.flapping:
        notes.append("〰️ *Flapping*: failing and recovering by turns; one alert until it stays up")
    if incident.acked_by:
        notes.append(_acked(incident))
    if incident.muted:
        notes.append("🔕 Muted: the job keeps running; cronops won't alert until it recovers.")
    if notes:
        blocks.append(_context(notes))
    blocks.append(ActionsBlock(elements=alert_buttons(incident)))
    meaning = []
    if incident.can_pause:
        label = inline(incident.provider_label, 100)
        meaning.append(f"*Pause* stops {label} from running the job")
    if not incident.muted:
        meaning.append("*Mute 1h* stops alerts for 1 h; the job keeps running")
    if meaning:
        blocks.append(_context([" · ".join(meaning)]))
    return AlertMessage(text, blocks)


def alert_buttons(incident: IncidentView) -> list[ButtonElement]:
    """Acknowledge until acknowledged, Pause if the provider can, Mute until muted, History
    (an alert's buttons; the Home tab shows them too)."""
    buttons: list[ButtonElement] = []
    if not incident.acked_by:
        buttons.append(_button(incident, "Acknowledge", ActionId.ALERT_ACK, "primary"))
    if incident.can_pause:
        question = (
            f"Pause stops {inline(incident.provider_label, 100)} from running the job"
            f" {ref_code(incident.ref)}. To stop only the alerts and keep the job running,"
            " use Mute instead."
        )
        confirm = ConfirmObject(
            title="Pause this job?",
            text=fit(question, 300),
            confirm="Pause job",
            deny="Cancel",
        )
        buttons.append(_button(incident, "Pause", ActionId.ALERT_PAUSE, confirm=confirm))
    if not incident.muted:
        buttons.append(_button(incident, "Mute 1h", ActionId.ALERT_MUTE))
    buttons.append(_button(incident, "History", ActionId.ALERT_HISTORY))
    return buttons


def _button(
    incident: IncidentView,
    text: str,
    action: ActionId,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    # a channel post: the ref as a typeable prefix, never a monitor's code in full
    ref = truncate(ref_prefix(incident.ref), REF_LIMIT)  # the listener reads the incident's own
    value = IncidentValue(incident_id=incident.id, ref=ref).dump()
    return ButtonElement(
        text=text, action_id=action.value, value=value, style=style, confirm=confirm
    )


def _capped(head: str, lines: list[str]) -> list[Block]:
    """``head`` and at most :data:`LIST_CAP` lines, then "…and N more"."""
    shown = lines[:LIST_CAP]
    if len(lines) > LIST_CAP:
        shown.append(f"…and {len(lines) - LIST_CAP} more")
    return packed_sections([head, *shown], MESSAGE_BLOCKS - 1)


def _context(texts: list[str]) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(fit(text, 2000)) for text in texts[:10]])


def _what_failed(incident: IncidentView) -> str:
    details = _failure_summary(incident) or "no details reported"
    url = shown_url(incident.url, incident.ref)
    if url:
        details += f" · {link(url, f'Open in {incident.provider_label}')}"
    return details


def _failure_summary(incident: IncidentView) -> str:
    parts: list[str] = []
    if incident.http_status is not None:
        parts.append(f"HTTP {incident.http_status}")
    if incident.status_text:
        parts.append(inline(incident.status_text, STATUS_LIMIT))
    if incident.duration_ms is not None:
        parts.append(duration(incident.duration_ms))
    return " · ".join(parts)


def _job_line(ref: str, name: str, detail: str) -> str:
    """One job in a summary; ``detail`` is mrkdwn, already escaped."""
    line = f"• {ref_code(ref)} *{job_name(name, NAME_LIMIT)}*"
    return f"{line} — {detail}" if detail else line


def _where(incident: IncidentView) -> str:
    return f"{ref_code(incident.ref)} · {_account(incident.account, incident.provider_label)}"


def _account(account: str, provider_label: str) -> str:
    return f"`{inline(account, 100)}` ({inline(provider_label, 100)})"


def _plain_account(account: str, provider_label: str) -> str:
    return f"{inline(account, 100)} ({inline(provider_label, 100)})"


def _acked(incident: IncidentView) -> str:
    when = f" {slack_date(incident.acked_at)}" if incident.acked_at else ""
    return f"👀 Acknowledged by <@{escape(incident.acked_by or '')}>{when}"


def _route(route: Route) -> str:
    """``account `prod`, except jobs whose names contain `staging```."""
    what = {
        "all": "every job",
        "account": f"account {code(route.target)}",
        "job": f"job {ref_code(route.target)}",
        "text": f"jobs whose names contain {code(route.target)}",
    }[route.kind]
    if route.except_text:
        what += f", except those whose names contain {code(route.except_text)}"
    return what


def _alerts_for(route: Route) -> str:
    return f"alerts for {_route(route)}"


def _made(route: Route) -> str:
    if route.created_by is None:
        return ""
    when = f" {slack_date(route.created_at)}" if route.created_at is not None else ""
    return f" — by <@{escape(route.created_by)}>{when}"


def _typed(route: Route) -> str:
    """The route as `/cron unsubscribe` takes it (mrkdwn inside inline code)."""
    target = "" if route.kind == "all" else shown_ref(route.target)
    if " " in target or route.kind == "text":
        target = f'"{target}"'
    if route.except_text:
        target += f' --except "{inline(route.except_text, REF_LIMIT)}"'
    return target.strip().replace("`", "'")


def _name(incident: IncidentView) -> str:
    return job_name(incident.job_name, NAME_LIMIT)


def _plain(incident: IncidentView) -> str:
    return f"{_name(incident)} ({shown_ref(incident.ref)})"


def _elapsed(start: datetime, end: datetime) -> str:
    """``2 h 14 min``; a naive datetime (SQLite) is taken to be UTC, as slack_date does."""
    return humanize(_utc(end) - _utc(start))


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"
