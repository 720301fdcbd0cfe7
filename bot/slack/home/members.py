"""Which channels a person is in, so their Home lists their channels' subscriptions.

``users.conversations`` with the person's id lists the public channels they are in and the
private ones they share with the bot (``channels:read``, ``groups:read``), which are the only
private channels the bot can post alerts to. It is read when the person opens the Home (at most
every :data:`KEEP` per person) and reused, however old, when the Home is refreshed for them in
the background: memberships change rarely, and a refresh for a hundred people must not make a
hundred calls of a Tier 3 method. When Slack refuses (an install made before the scopes were
added answers ``missing_scope``), the Home shows every channel's subscriptions and says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

KEEP = timedelta(minutes=10)  # a membership read on opening is fresh this long
RETRY = timedelta(minutes=1)  # a failed read is tried again after this long
PAGE = 200  # channels per page, as Slack recommends
PAGES = 25  # pages read at most (5,000 channels); the rest are not looked at
KEPT = 2000  # people whose memberships are kept


@dataclass(frozen=True)
class Membership:
    """The channels a person is in (None: unknown, for ``problem``), as read at ``at``."""

    channels: frozenset[str] | None
    at: datetime
    problem: str | None = None


@dataclass
class ChannelMembers:
    client: AsyncWebClient
    _kept: dict[str, Membership] = field(default_factory=dict, repr=False)

    async def of(self, user: str, now: datetime, *, fresh: bool) -> Membership:
        """``user``'s channels; ``fresh`` (they are looking) reads them again once older than
        :data:`KEEP`, else any kept answer will do."""
        kept = self._kept.get(user)
        if kept is not None:
            age = now - kept.at
            if age < (RETRY if kept.channels is None else KEEP) or (
                not fresh and kept.channels is not None
            ):
                return kept
        read = await self._read(user, now)
        if len(self._kept) >= KEPT and user not in self._kept:
            del self._kept[next(iter(self._kept))]  # the oldest
        self._kept[user] = read
        return read

    async def _read(self, user: str, now: datetime) -> Membership:
        channels: set[str] = set()
        cursor: str | None = None
        try:
            for _ in range(PAGES):
                page = await self.client.users_conversations(
                    user=user, types="public_channel,private_channel", exclude_archived=True,
                    limit=PAGE, cursor=cursor,
                )  # fmt: skip
                channels.update(str(c["id"]) for c in page.get("channels") or [] if "id" in c)
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    break
        except SlackApiError as error:
            code = str(error.response.get("error") or "error")
            log.info("cannot read the channels of %s (%s): showing every channel", user, code)
            return Membership(None, now, code)
        except (TimeoutError, aiohttp.ClientError) as error:
            log.info("cannot read the channels of %s (%s)", user, type(error).__name__)
            return Membership(None, now, "unreachable")
        return Membership(frozenset(channels), now)
