"""The outbox to Slack: every queued message sent once, whatever fails on the way.

A message was queued in the outbox (under an idempotency key) in the transaction that decided
it; :class:`Delivery` claims due rows and sends them. A Slack outage or ``ratelimited`` delays
delivery (``Retry-After`` honoured); it never drops a message. Posts carry their key in Slack
message metadata, so a crash between posting and recording the post is healed by finding our
own message instead of posting twice. Any deliverer may run at any time, in any process: rows
are claimed, so none is sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin.metrics import Metrics
from bot.store import Store
from bot.store.leases import process_name
from bot.store.tables import OutboxItem

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
CLAIM = timedelta(seconds=60)  # a claimed message's owner has this long to send it


@dataclass
class Delivery:
    """Sends the outbox's due messages through ``client``."""

    store: Store
    client: AsyncWebClient
    metrics: Metrics | None = None
    owner: str = field(default_factory=process_name)

    async def deliver(
        self, now: datetime, *, limit: int = 50, keys: Collection[str] | None = None
    ) -> int:
        """Send what is due (of ``keys`` only, if given); how many messages reached Slack.

        Each row is claimed first (:meth:`bot.store.outbox.Outbox.claim`), so deliverers in
        this process and in others never send the same one.
        """
        sent = 0
        for item in await self.store.outbox.claim(
            now, self.owner, lease=CLAIM, limit=limit, keys=keys
        ):
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


def _update_args(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k in ("text", "blocks")}


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF, 2.0 ** max(attempts, 1)))
