"""Alerts out: transitions -> the Slack messages that tell them, queued in the outbox.

Every message is written to the outbox under an idempotency key (one per incident event and
channel), in the transaction that records its transition; :mod:`bot.slack.delivery` sends it,
exactly once. Where a message goes: every channel subscribed to the job, and always
``alerts.channel``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.alerts.poll import Kind, Transition
from bot.chat.grammar import target_kind
from bot.slack.render import alerts as render
from bot.store import Store
from bot.store.tables import Incident, Subscription
from providers.base import Capability, Job

log = logging.getLogger(__name__)

#: How long an update waits for the history read that will refine it (released sooner).
HOLD = timedelta(seconds=60)
#: Updates waiting for the history: (outbox key, job id).
Held = list[tuple[str, str]]


@dataclass
class Notifier:
    """Turns transitions into outbox rows; :mod:`bot.slack.delivery` sends them."""

    store: Store
    default_channel: str | None
    labels: Mapping[str, str]  # account -> provider label

    # -- transitions -> outbox ------------------------------------------------------------
    async def enqueue(
        self, transitions: Sequence[Transition], now: datetime, *, held: Held | None = None
    ) -> None:
        """Queue the messages of ``transitions``, in the caller's transaction if it has one.

        An update the history read will refine (``detail_follows``) is queued to wait
        :data:`HOLD`; its key and job id go into ``held``, so the cycle can release it at once
        if the history adds nothing (else the history's own update supersedes it).
        """
        rolled: dict[str, list[Transition]] = {}
        for t in transitions:
            if t.kind is Kind.OPENED and t.rollup:
                rolled.setdefault(t.account, []).append(t)
            else:
                await self._enqueue_one(t, now, held)
        for account, opened in rolled.items():
            await self._enqueue_rollup(account, opened, now)

    async def _enqueue_one(self, t: Transition, now: datetime, held: Held | None) -> None:
        label = self.labels.get(t.account, t.account)
        if t.kind is Kind.ACCOUNT_DOWN:
            message = render.account_down(t.account, label, t.error or "no answer", now=now)
            await self._post(
                f"account:{t.account}:down:{_stamp(now)}", self.default_channel, message, now
            )
        elif t.kind is Kind.ACCOUNT_BACK:
            message = render.account_back(t.account, label, t.down_since, now=now)
            await self._post(
                f"account:{t.account}:back:{_stamp(now)}", self.default_channel, message, now
            )
        elif t.kind is Kind.FIRST_START:
            failing = [(j.ref, j.name, j.last_status) for j in t.failing]
            message = render.first_start_summary(t.account, label, failing, now=now)
            await self._post(f"first-start:{t.account}", self.default_channel, message, now)
        elif t.incident is not None and t.job is not None:
            hold = held if t.detail_follows and held is not None else None
            await self._incident_event(t.kind, t.incident, t.job, now, hold)

    async def _incident_event(
        self, kind: Kind, incident: Incident, job: Job, now: datetime, held: Held | None = None
    ) -> None:
        view = self.view(incident, job)
        if kind is Kind.OPENED:
            if incident.muted:
                return  # recorded, not posted: the job is muted
            for channel in await self.channels_for(job):
                key = post_key(incident, channel)
                await self._post(key, channel, render.alert_open(view, now=now), now, incident)
            return
        updating = kind in (Kind.FAILED_AGAIN, Kind.DETAILED, Kind.FLAPPING)
        if updating and incident.detail.get("rollup"):
            return  # the roll-up lists many jobs; one job's update must not replace it
        if updating and await self.store.mutes.active(job.ref, now):
            return
        for channel in await self.channels_for(job):
            home = _home_key(incident, channel)
            if updating:
                key = _update_key(kind, incident, channel, now)
                # the first post, now with its details, still reads as the first post
                first = kind is Kind.DETAILED and incident.failures <= 1
                message = (render.alert_open if first else render.alert_update)(view, now=now)
                due = now + HOLD if held is not None else now
                await self._later("update", key, channel, message, home, incident, now, due)
                if held is not None:
                    held.append((key, job.id))
            else:
                if not incident.detail.get("rollup"):
                    key = f"incident:{incident.id}:resolved:{channel}"
                    await self._later(
                        "update",
                        key,
                        channel,
                        render.alert_resolved(view, now=now),
                        home,
                        incident,
                        now,
                    )
                key = f"incident:{incident.id}:recovered:{channel}"
                await self._later(
                    "reply", key, channel, render.resolved_reply(view, now=now), home, incident, now
                )

    async def _enqueue_rollup(self, account: str, opened: list[Transition], now: datetime) -> None:
        shown = [t for t in opened if t.incident is not None and not t.incident.muted]
        if not shown:
            return
        views = [self.view(t.incident, t.job) for t in shown if t.incident and t.job]
        channels = {c for t in shown if t.job for c in await self.channels_for(t.job)}
        message = render.rollup(account, self.labels.get(account, account), views, now=now)
        first = shown[0].incident
        assert first is not None
        for channel in sorted(channels):
            await self._post(_rollup_key(first, channel), channel, message, now)

    async def renotify(self, now: datetime, every: timedelta) -> int:
        """A reply in the thread of each open, unacknowledged, unmuted incident for each
        ``every`` it has been failing; how many were queued.

        The n-th reply of an incident has its own key, so however many processes run this,
        and however often, each is queued once; after a pause (a restart, an outage) only the
        latest is sent, not every one missed.
        """
        queued = 0
        mutes = await self.store.mutes.all_active(now)
        for incident in await self.store.incidents.all_open():
            due = int((now - incident.opened_at) / every)
            if due < 1 or incident.acked_by or incident.muted or incident.ref in mutes:
                continue
            view = self.view(incident, None)
            message = render.still_failing_reply(view, now=now)
            for channel in await self._channels(incident.account, incident.ref, incident.job_name):
                key = f"incident:{incident.id}:renotify:{due}:{channel}"
                home = _home_key(incident, channel)
                queued += await self._later("reply", key, channel, message, home, incident, now)
        return queued

    async def channels_for(self, job: Job) -> list[str]:
        """``alerts.channel``, and every channel subscribed to the job (its account, its ref,
        or text in its name, less its ``--except`` text): a subscription adds a channel, it
        never takes one away."""
        return await self._channels(job.account, job.ref, job.name)

    async def _channels(self, account: str, ref: str, name: str) -> list[str]:
        subscriptions = await self.store.subscriptions.all()
        known = self.labels.keys()  # the configured accounts
        matched = {s.channel for s in subscriptions if matches(s, account, ref, name, known)}
        if self.default_channel:
            matched.add(self.default_channel)
        return sorted(matched)

    def view(self, incident: Incident, job: Job | None) -> render.IncidentView:
        can_pause = job.can(Capability.PAUSE) if job else False
        return incident_view(incident, self.labels.get(incident.account, incident.account),
                             can_pause=can_pause)  # fmt: skip

    async def _post(
        self, key: str, channel: str | None, message: render.AlertMessage, now: datetime,
        incident: Incident | None = None,
    ) -> None:  # fmt: skip
        if channel:
            await self.store.outbox.enqueue(
                key, "post", channel, _payload(message), now=now,
                incident_id=incident.id if incident else None,
            )  # fmt: skip

    async def _later(
        self, kind: str, key: str, channel: str, message: render.AlertMessage, target: str,
        incident: Incident, now: datetime, due: datetime | None = None,
    ) -> bool:  # fmt: skip
        """Queue an update or reply; False if one was queued under ``key`` before."""
        return await self.store.outbox.enqueue(
            key, kind, channel, _payload(message), now=now, target_key=target,
            incident_id=incident.id, due=due,
        )  # fmt: skip


def incident_view(incident: Incident, label: str, *, can_pause: bool) -> render.IncidentView:
    """What an alert message shows of an incident."""
    detail = incident.detail
    return render.IncidentView(
        id=incident.id, ref=incident.ref, account=incident.account, provider_label=label,
        job_name=incident.job_name, opened_at=incident.opened_at,
        last_seen_at=incident.last_seen_at, failures=incident.failures,
        http_status=detail.get("http_status"), status_text=detail.get("status_text"),
        duration_ms=detail.get("duration_ms"), url=detail.get("url"),
        resolved_at=incident.resolved_at, acked_by=incident.acked_by,
        acked_at=incident.acked_at, muted=incident.muted, can_pause=can_pause,
        flapping=incident.flapping,
    )  # fmt: skip


def matches(
    subscription: Subscription, account: str, ref: str, name: str, accounts: Collection[str] = ()
) -> bool:
    """Whether a subscription takes the job ``account``/``ref``/``name``, less the jobs whose
    names contain its ``except_text``. Its target is ``*``, an account, one job's ref (that
    job alone, whatever its name) or text in the name (:func:`bot.chat.grammar.target_kind`,
    ``accounts`` being the configured ones)."""
    if subscription.except_text and subscription.except_text.casefold() in name.casefold():
        return False
    target = subscription.target
    needle = target.casefold()
    match target_kind(target, [*accounts, account]):
        case "all":
            return True
        case "account":
            return needle == account.casefold()
        case "job":
            return needle == ref.casefold()
        case _:
            return needle in name.casefold()


def post_key(incident: Incident, channel: str) -> str:
    return f"incident:{incident.id}:post:{channel}"


def _update_key(kind: Kind, incident: Incident, channel: str, now: datetime) -> str:
    if kind is Kind.FLAPPING:
        return f"incident:{incident.id}:flapping:{channel}"
    if kind is Kind.FAILED_AGAIN:
        return f"incident:{incident.id}:update:{incident.failures}:{channel}"
    return f"incident:{incident.id}:detail:{incident.failures}:{_stamp(now)}:{channel}"


def _home_key(incident: Incident, channel: str) -> str:
    return (
        _rollup_key(incident, channel)
        if incident.detail.get("rollup")
        else post_key(incident, channel)
    )


def _rollup_key(incident: Incident, channel: str) -> str:
    return f"rollup:{incident.account}:{_stamp(incident.opened_at)}:{channel}"


def _stamp(when: datetime) -> int:
    return int(when.timestamp())


def _payload(message: render.AlertMessage) -> dict[str, Any]:
    return {"text": message.text, "blocks": [block.to_dict() for block in message.blocks]}
