"""A fake Slack Web API: records every call with its body and keeps just enough state.

Used by ``cronops console`` (it renders what the app sends), by the Slack scenario tests (served
on a free loopback port and named by ``SLACK_API_URL``) and by the benchmarks. It answers the
methods cronops calls — ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
``views.open|update|push|publish``, ``conversations.history``, ``usergroups.users.list``,
``users.conversations``, ``auth.test`` — and ``response_url`` posts at ``/response/<token>``.
Failures can be scripted per method (``ratelimited`` with ``Retry-After``, a 500) to test
delivery. For Socket Mode, ``apps.connections.open`` hands out ``ws://…/socket``, where
envelopes queued with ``socket_send`` are pushed and the app's acks are recorded as
``socket_ack`` calls. And
:func:`sign` signs a request body as Slack signs the requests it sends to an app.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "users")
BOT_USER = "UCRONOPS"


@dataclass
class Call:
    method: str  # Web API method, or "response_url"
    body: dict[str, Any]
    token: str = ""  # the response_url token, for "response_url" calls
    at: float = field(default_factory=time.monotonic)
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered


@dataclass
class Failure:
    status: int
    error: str
    retry_after: int | None = None


class FakeSlack:
    """State and recordings of one fake workspace."""

    def __init__(
        self,
        *,
        usergroups: dict[str, list[str]] | None = None,
        members: dict[str, list[str]] | None = None,
    ) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> messages, oldest first
        self.views: dict[str, dict[str, Any]] = {}
        self.homes: dict[str, dict[str, Any]] = {}  # user -> their published Home tab
        self.usergroups = dict(usergroups or {})
        self.members = dict(members or {})  # user -> the channels they are in
        self.failures: dict[str, deque[Failure]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._socket_outbox: asyncio.Queue[dict[str, Any]] | None = None
        self.base_url = "http://fake-slack.invalid"

    # -- scripting and inspection -----------------------------------------------------------
    def fail(self, method: str, *, error: str = "ratelimited", status: int = 429,
             retry_after: int | None = 1, times: int = 1) -> None:  # fmt: skip
        """Answer the next ``times`` calls of ``method`` with an error."""
        queue = self.failures.setdefault(method, deque())
        queue.extend(Failure(status, error, retry_after) for _ in range(times))

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def socket_send(self, envelope: dict[str, Any]) -> None:
        """Queue a Socket Mode envelope for the connected app."""
        if self._socket_outbox is None:
            self._socket_outbox = asyncio.Queue()
        self._socket_outbox.put_nowait(envelope)

    def response_url(self) -> str:
        return f"{self.base_url}/response/{next(self._ids)}"

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        within: float = 5.0,
        where: Callable[[Call], bool] = lambda call: True,
    ) -> list[Call]:
        """Wait until ``count`` matching calls of ``method`` arrived; return them."""
        deadline = time.monotonic() + within
        while True:
            found = [c for c in self.of(method) if where(c)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = ", ".join(c.method for c in self.calls) or "nothing"
                raise TimeoutError(f"{count} x {method} did not arrive; got: {seen}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    # -- the ASGI app ---------------------------------------------------------------------
    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{token}", self._response_url, methods=["POST"]),
                WebSocketRoute("/socket", self._socket),
            ]
        )

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        body = await _body(request)
        queue = self.failures.get(method)
        if queue:
            failure = queue.popleft()
            self._record(Call(method, {**body, "_failed": failure.error}))
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return JSONResponse(
                {"ok": False, "error": failure.error}, status_code=failure.status, headers=headers
            )
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        result = handler(body) if handler else {}
        self._record(Call(method, body, result=result))
        return JSONResponse({"ok": True, **result})

    async def _response_url(self, request: Request) -> Response:
        self._record(Call("response_url", await _body(request), token=request.path_params["token"]))
        return Response("ok")

    async def _socket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}
        await websocket.send_json(hello)
        if self._socket_outbox is None:
            self._socket_outbox = asyncio.Queue()
        outbox = self._socket_outbox

        async def push() -> None:
            while True:
                await websocket.send_json(await outbox.get())

        pusher = asyncio.create_task(push())
        try:
            while True:
                self._record(Call("socket_ack", json.loads(await websocket.receive_text())))
        except WebSocketDisconnect:
            pass
        finally:
            pusher.cancel()

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    # -- methods --------------------------------------------------------------------------
    def _apps_connections_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.base_url.replace("http", "ws", 1) + "/socket"}

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"user_id": BOT_USER, "bot_id": "BCRONOPS", "team_id": "TFAKE", "user": "cronops"}

    def _chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        ts = f"{1_700_000_000 + next(self._ts)}.000100"
        message = {**body, "ts": ts, "user": BOT_USER, "type": "message"}
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                message.update({k: v for k, v in body.items() if k not in ("channel", "ts")})
        return {"channel": channel, "ts": ts}

    def _chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": f"{1_700_000_000 + next(self._ts)}.000200"}

    def _views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        view_id = f"V{next(self._ids):08d}"
        view = {**body.get("view", {}), "id": view_id}
        self.views[view_id] = view
        return {"view": view}

    _views_push = _views_open

    def _views_update(self, body: dict[str, Any]) -> dict[str, Any]:
        view_id = str(body.get("view_id", ""))
        view = {**body.get("view", {}), "id": view_id}
        self.views[view_id] = view
        return {"view": view}

    def _views_publish(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("user_id", ""))
        view = {**body.get("view", {}), "id": f"VHOME{user}"}
        self.homes[user] = view
        return {"view": view}

    def _users_conversations(self, body: dict[str, Any]) -> dict[str, Any]:
        channels = self.members.get(str(body.get("user", "")), [])
        start, limit = int(body.get("cursor") or 0), int(body.get("limit", 100))
        page = channels[start : start + limit]
        more = str(start + limit) if start + limit < len(channels) else ""
        return {
            "channels": [{"id": channel} for channel in page],
            "response_metadata": {"next_cursor": more},
        }

    def _conversations_history(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = self.messages.get(str(body.get("channel", "")), [])
        limit = int(body.get("limit", 100))
        return {"messages": list(reversed(messages))[:limit], "has_more": False}

    def _conversations_replies(self, body: dict[str, Any]) -> dict[str, Any]:
        ts = str(body.get("ts", ""))
        thread = [
            m for m in self.messages.get(str(body.get("channel", "")), [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]  # fmt: skip
        return {"messages": thread, "has_more": False}

    def _usergroups_users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"users": self.usergroups.get(str(body.get("usergroup", "")), [])}


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body: dict[str, Any] = dict(request.query_params)
    if raw:
        if raw.lstrip().startswith(b"{"):
            body.update(json.loads(raw))
        else:
            body.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in JSON_FIELDS:
        if isinstance(body.get(key), str) and body[key][:1] in "[{":
            body[key] = json.loads(body[key])
    return body


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
