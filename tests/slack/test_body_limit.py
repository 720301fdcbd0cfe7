"""Request bodies over 1 MiB are refused with 413 before Bolt parses or verifies a byte of them.

Over real loopback HTTP (uvicorn, as `cronops run` serves it): a declared Content-Length over
the limit, and a chunked body with no Content-Length that streams past it. A Content-Length
that lies (more body than it declares) cannot reach an app over HTTP/1.1 (the server stops at
the declared length), so that case is driven at the ASGI level.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.types import Message

from bot.demo.fakeslack import sign
from bot.slack.app import build_app
from bot.slack.http import build_http_app
from providers.sim.serve import LoopbackServer
from tests.conftest import CHANNEL, OPERATOR, SECRET, Workspace

MIB = 1024 * 1024


@pytest.fixture
async def slack_url(workspace: Workspace) -> AsyncIterator[str]:
    """The Slack endpoint of the workspace's app, served on a loopback port."""
    app = build_app(
        workspace.built.deps, token="xoxb-test", signing_secret=SECRET,
        api_url=f"{workspace.fake.base_url}/api/",
    )  # fmt: skip
    async with LoopbackServer(build_http_app(app)) as server:
        yield f"{server.url}/slack/events"


def _command(text: str, workspace: Workspace) -> str:
    return urlencode({
        "command": "/cron", "text": text, "user_id": OPERATOR, "channel_id": CHANNEL,
        "team_id": "T1", "trigger_id": f"1.{time.time()}",
        "response_url": workspace.fake.response_url(),
    })  # fmt: skip


def _padded(size: int, workspace: Workspace) -> str:
    """A signed-able `/cron help` whose body is exactly ``size`` bytes long."""
    base = _command("help", workspace) + "&pad="
    return base + "x" * (size - len(base))


async def test_a_body_over_1_mib_is_refused_before_its_signature_is_checked(
    workspace: Workspace, slack_url: str
) -> None:
    body = _padded(2 * MIB, workspace)
    async with httpx.AsyncClient() as client:
        unsigned = await client.post(slack_url, content=body, headers=sign("wrong", body))
        signed = await client.post(slack_url, content=body, headers=sign(SECRET, body))
    assert unsigned.status_code == 413  # not 401: the signature was never looked at
    assert signed.status_code == 413
    assert "1 MiB" in signed.text


async def test_a_chunked_body_is_refused_as_soon_as_it_streams_past_1_mib(
    workspace: Workspace, slack_url: str
) -> None:
    body = _padded(3 * MIB, workspace)

    async def chunks() -> AsyncIterator[bytes]:
        data = body.encode()
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    async with httpx.AsyncClient() as client:
        response = await client.post(slack_url, content=chunks(), headers=sign(SECRET, body))
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413


async def test_a_body_of_exactly_1_mib_is_still_served(
    workspace: Workspace, slack_url: str
) -> None:
    body = _padded(MIB, workspace)
    assert len(body.encode()) == MIB
    async with httpx.AsyncClient() as client:
        response = await client.post(slack_url, content=body, headers=sign(SECRET, body))
    assert response.status_code == 200


async def test_a_body_longer_than_its_content_length_is_refused(workspace: Workspace) -> None:
    body = _padded(2 * MIB, workspace).encode()
    app = build_http_app(
        build_app(workspace.built.deps, token="xoxb-test", signing_secret=SECRET,
                  api_url=f"{workspace.fake.base_url}/api/")
    )  # fmt: skip
    headers = {**sign(SECRET, body.decode()), "Content-Length": "100"}
    chunks = [body[i : i + MIB // 4] for i in range(0, len(body), MIB // 4)]
    sent: list[Message] = []

    async def receive() -> Message:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/slack/events", "raw_path": b"/slack/events",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 3000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 413
    assert len(chunks) <= 3, "reading stopped once the body passed 1 MiB"
