"""Alerts out: transitions -> outbox rows -> Slack, each message exactly once.

Every message is first written to the outbox under an idempotency key (one per incident event),
then delivered. A Slack outage or ``ratelimited`` delays delivery (``Retry-After`` honoured);
it never drops a message. Posts carry their key in Slack message metadata, so a crash between
posting and recording the post is healed by finding our own message instead of posting twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin.metrics import Metrics
from bot.alerts.poll import Kind, Transition
from bot.slack.render import alerts as render
from bot.store import Store
from bot.store.tables import Incident, OutboxItem
from providers.base import Capability, Job

log = logging.getLogger(__name__)

EVENT_TYPE = "cronops_message"
TRANSIENT = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
MAX_BACKOFF = 300.0
MAX_ATTEMPTS = 20  # a message that fails this often for reasons cronops does not know is dropped
#: How long an update waits for the history read that will refine it (released sooner).
HOLD = timedelta(seconds=60)
#: Updates waiting for the history: (outbox key, job id).
Held = list[tuple[str, str]]


@dataclass
class Notifier:
    store: Store
    client: AsyncWebClient
    default_channel: str | None
    labels: Mapping[str, str]  # account -> provider label
    metrics: Metrics | None = None
    _sending: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

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
        updating = kind in (Kind.FAILED_AGAIN, Kind.DETAILED)
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

    async def channels_for(self, job: Job) -> list[str]:
        """Every channel subscribed to the job (its account, its ref, or text in its name)."""
        matched = {
            s.channel for s in await self.store.subscriptions.all() if matches(s.target, job)
        }
        if matched:
            return sorted(matched)
        return [self.default_channel] if self.default_channel else []

    def view(self, incident: Incident, job: Job | None) -> render.IncidentView:
        detail = incident.detail
        return render.IncidentView(
            id=incident.id, ref=incident.ref, account=incident.account,
            provider_label=self.labels.get(incident.account, incident.account),
            job_name=incident.job_name, opened_at=incident.opened_at,
            last_seen_at=incident.last_seen_at, failures=incident.failures,
            http_status=detail.get("http_status"), status_text=detail.get("status_text"),
            duration_ms=detail.get("duration_ms"), url=detail.get("url"),
            resolved_at=incident.resolved_at, acked_by=incident.acked_by,
            acked_at=incident.acked_at, muted=incident.muted,
            can_pause=job.can(Capability.PAUSE) if job else False,
        )  # fmt: skip

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
    ) -> None:  # fmt: skip
        await self.store.outbox.enqueue(
            key, kind, channel, _payload(message), now=now, target_key=target,
            incident_id=incident.id, due=due,
        )  # fmt: skip

    # -- outbox -> Slack ------------------------------------------------------------------
    async def deliver(self, now: datetime, limit: int = 50) -> int:
        """Send what is due; return how many messages reached Slack.

        One delivery at a time: the poll's own delivery and the outbox job must never send the
        same row concurrently (that is how a message would be posted twice).
        """
        async with self._sending:
            return await self._deliver_due(now, limit)

    async def _deliver_due(self, now: datetime, limit: int) -> int:
        sent = 0
        for item in await self.store.outbox.due(now, limit):
            try:
                sent += await self._deliver(item, now)
            except SlackApiError as error:
                await self._failed(item, error, now)
            except (OSError, TimeoutError) as error:  # Slack unreachable: try again later
                await self._retry(item, now, type(error).__name__)
            except Exception as error:  # one bad message never holds up the others
                log.exception("could not deliver message %s; trying again later", item.key)
                await self._retry(item, now, type(error).__name__)
        return sent

    async def _retry(self, item: OutboxItem, now: datetime, error: str) -> None:
        """Try again later, backing off; give up after :data:`MAX_ATTEMPTS`."""
        if item.attempts + 1 >= MAX_ATTEMPTS:
            log.error("giving up on message %s after %d attempts: %s", item.key,
                      item.attempts + 1, error)  # fmt: skip
            await self.store.outbox.give_up(item.id, error)
        else:
            await self.store.outbox.mark_retry(item.id, now + _backoff(item.attempts), error)

    async def _deliver(self, item: OutboxItem, now: datetime) -> int:
        target: tuple[str, str] | None = None
        if item.kind != "post":
            target = await self.store.outbox.sent_post(item.target_key or "")
            if target is None:
                return await self._without_target(item, now)
            if item.kind == "update":
                await self.store.outbox.supersede_updates(item.target_key or "", item.id)
        tried_before = await self.store.outbox.begin_attempt(item.id, now)
        if tried_before and (ts := await self._find_own(item, target)):
            await self.store.outbox.mark_sent(item.id, now, ts)  # an earlier attempt did post it
            return 0
        payload = {**item.payload, "unfurl_links": False, "unfurl_media": False}
        if item.kind == "update":
            assert target is not None
            await self.client.chat_update(channel=target[0], ts=target[1], **_update_args(payload))
            await self.store.outbox.mark_sent(item.id, now, target[1])
            return 1
        if item.kind == "reply":
            assert target is not None
            payload["thread_ts"] = target[1]
        payload["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"key": item.key}}
        posted = await self.client.chat_postMessage(channel=item.channel, **payload)
        await self.store.outbox.mark_sent(item.id, now, str(posted["ts"]))
        return 1

    async def _without_target(self, item: OutboxItem, now: datetime) -> int:
        """An update or reply whose message is not posted yet: wait for it, or drop if none."""
        if await self.store.outbox.pending(item.target_key or ""):
            await self.store.outbox.mark_retry(
                item.id, now + timedelta(seconds=2), "waiting for its post"
            )
        else:
            await self.store.outbox.mark_sent(
                item.id, now, None
            )  # nothing to update (muted, rolled up)
        return 0

    async def _find_own(self, item: OutboxItem, target: tuple[str, str] | None) -> str | None:
        """The ts of a message we already posted under this key, if an earlier try got through."""
        if item.kind == "update":
            return None  # updates are idempotent: sending again is harmless
        if item.kind == "reply" and target is not None:
            found = await self.client.conversations_replies(
                channel=item.channel, ts=target[1], include_all_metadata=True, limit=100
            )
        else:
            found = await self.client.conversations_history(
                channel=item.channel, include_all_metadata=True, limit=100
            )
        for message in found.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == item.key:
                return str(message["ts"])
        return None

    async def _failed(self, item: OutboxItem, error: SlackApiError, now: datetime) -> None:
        code = str(error.response.get("error", ""))
        status = error.response.status_code
        if self.metrics is not None:
            method = "chat.update" if item.kind == "update" else "chat.postMessage"
            self.metrics.slack_errors.labels(method, code or str(status)).inc()
        if code == "ratelimited" or status == 429:
            wait = float(error.response.headers.get("Retry-After", 1) or 1)
            await self.store.outbox.mark_retry(item.id, now + timedelta(seconds=wait), code)
        elif status >= 500 or code in TRANSIENT:
            await self.store.outbox.mark_retry(
                item.id, now + _backoff(item.attempts), code or str(status)
            )
        else:
            log.warning(
                "Slack refused message %s in %s: %s; giving up", item.key, item.channel, code
            )
            await self.store.outbox.give_up(item.id, code)


def matches(target: str, job: Job) -> bool:
    """Whether a subscription target (``*``, an account, a ref, or text in the name) fits."""
    if target == "*":
        return True
    needle = target.casefold()
    return needle in (job.account.casefold(), job.ref.casefold()) or needle in job.name.casefold()


def post_key(incident: Incident, channel: str) -> str:
    return f"incident:{incident.id}:post:{channel}"


def _update_key(kind: Kind, incident: Incident, channel: str, now: datetime) -> str:
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


def _update_args(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k in ("text", "blocks")}


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF, 2.0 ** max(attempts, 1)))
