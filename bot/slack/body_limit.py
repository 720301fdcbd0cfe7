"""Request bodies over a limit are refused with 413 before the app sees a byte of them.

Slack's payloads are small (a modal submission is a few KiB), so nothing legitimate comes near
:data:`MAX_BODY`. The limit holds whatever the client claims: a Content-Length over it is
refused before the body is read, and a body that streams past it (chunked, without a
Content-Length, or longer than the one it declared) is refused the moment it does. A body
within the limit is read whole and handed to the app, so Bolt never parses or verifies a
request that is too large.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # 1 MiB


class BodyLimit:
    """ASGI middleware: ``Route(..., middleware=[Middleware(BodyLimit)])``."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.isdigit():
            await _answer(scope, receive, send, 400, "Content-Length is not a number")
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, f"it declares {declared} bytes")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away; there is no one to answer
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send, "it streamed past the limit")
                return
            more = message.get("more_body", False)
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        client = scope.get("client") or ("unknown client",)
        log.warning("refused a request body over %d bytes from %s: %s",
                    self.max_bytes, client[0], why)  # fmt: skip
        limit = _size(self.max_bytes)
        await _answer(scope, receive, send, 413, f"Request body too large: at most {limit}.")


def _size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count // mib} MiB" if count % mib == 0 else f"{count} bytes"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then waits on the real one."""
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    # No "Connection: close": a client still sending would get a reset instead of the answer.
    # The server discards what is left of the body (it holds none of it) and answers.
    response = PlainTextResponse(text, status_code=status)
    await response(scope, receive, send)
