"""What the listeners work with, built once per process (``bot.runtime``) or by a test."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.admin.metrics import Metrics
from bot.chat.access import Access
from bot.chat.service import CronService
from bot.config.settings import AlertsConfig
from bot.inflight import Inflight
from bot.slack.respond import ResponseUrls
from bot.store import Store
from providers.clock import Clock, utcnow

if TYPE_CHECKING:
    from bot.slack.home.tab import HomeTab

#: A rendered `/cron list` answer: its notification text and its blocks, ready for JSON.
RenderedList = tuple[str, list[dict[str, Any]]]
#: Which rendering a `/cron list` answer is: (listing stamp, page, minute).
RenderKey = tuple[tuple[object, ...], str, datetime]
#: The renderings, done or under way, that askers of the same answer share.
RenderedLists = dict[RenderKey, "asyncio.Future[RenderedList]"]


@dataclass
class Deps:
    """Everything the listeners use."""

    service: CronService
    access: Access
    store: Store
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    audit_channel: str | None = None
    metrics: Metrics = field(default_factory=Metrics)
    inflight: Inflight = field(default_factory=Inflight)
    clock: Clock = utcnow
    responses: ResponseUrls = field(default_factory=ResponseUrls)
    rendered: RenderedLists = field(default_factory=dict)
    # The Home tab's publisher, set by ``bot.slack.app.build_app`` (it needs the app's client).
    home: HomeTab | None = None
