"""Answers through a request's ``response_url``, over one HTTP session for the whole process.

Bolt's ``respond()`` opens a new aiohttp session, and with it a new connection, for every
answer; three hundred people listing at once made that most of the bot's work. This posts the
same message over one shared session, encoded with orjson (a list answer is tens of kilobytes
of blocks), and retries once when the connection fails, as slack-sdk's webhook client does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block

from providers.redact import secrets

log = logging.getLogger(__name__)

Blocks = Sequence[Block | dict[str, Any]]
_JSON = {"Content-Type": "application/json;charset=utf-8"}
BODIES_KEPT = 64


class ResponseUrls:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._bodies: dict[tuple[Any, ...], tuple[Blocks | None, bytes]] = {}

    async def send(
        self, respond: AsyncRespond, *, text: str, blocks: Blocks | None = None, **options: Any
    ) -> None:
        """Post one message to ``respond``'s response_url (Bolt's respond() if it has none)."""
        if respond.response_url is None:
            await respond(text=text, blocks=blocks, **options)
            return
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        body = self._encoded(text, blocks, options)
        for attempt in (1, 2):
            try:
                async with self._session.post(
                    respond.response_url, data=body, headers=_JSON, proxy=respond.proxy,
                    ssl=respond.ssl if respond.ssl is not None else True,
                ) as response:  # fmt: skip
                    status, answer = response.status, await response.text()
                break
            except aiohttp.ClientConnectionError as error:
                if attempt == 2:
                    log.warning("response_url unreachable: %s", type(error).__name__)
                    return
        if status >= 400:  # an expired response_url: nothing more to do
            log.warning("response_url answered HTTP %s: %s", status, answer[:200])

    def _encoded(self, text: str, blocks: Blocks | None, options: dict[str, Any]) -> bytes:
        """The message as JSON; one encoding for the many answers that share their blocks."""
        key = (id(blocks), text, tuple(sorted(options.items())))
        kept = self._bodies.get(key)
        if kept is not None and kept[0] is blocks:
            return kept[1]
        message: dict[str, Any] = {"text": text, **options}
        if blocks is not None:
            message["blocks"] = [b.to_dict() if isinstance(b, Block) else b for b in blocks]
        body = orjson.dumps(secrets.scrub_all(message))
        if len(self._bodies) >= BODIES_KEPT:
            self._bodies.clear()
        self._bodies[key] = (blocks, body)  # the blocks held, so their id is not reused
        return body

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
