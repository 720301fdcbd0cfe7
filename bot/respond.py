"""Answers through a request's ``response_url``, over one HTTP session for the whole process.

Bolt's ``respond()`` opens a new aiohttp session, and with it a new connection, for every
answer; three hundred people listing at once made that most of the bot's work. This posts the
same message, with slack-sdk's webhook client, over one shared session.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)

Blocks = Sequence[Block | dict[str, Any]]


class ResponseUrls:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def send(
        self, respond: AsyncRespond, *, text: str, blocks: Blocks | None = None, **options: Any
    ) -> None:
        """Post one message to ``respond``'s response_url (Bolt's respond() if it has none)."""
        if respond.response_url is None:
            await respond(text=text, blocks=blocks, **options)
            return
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        client = AsyncWebhookClient(
            url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl, session=self._session
        )
        message: dict[str, Any] = {"text": text, **options}
        if blocks is not None:
            message["blocks"] = [b.to_dict() if isinstance(b, Block) else b for b in blocks]
        response = await client.send_dict(message)
        if response.status_code >= 400:  # an expired response_url: nothing more to do
            log.warning("response_url answered HTTP %s: %s", response.status_code, response.body)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
