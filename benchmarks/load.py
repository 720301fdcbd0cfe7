"""Signed `/cron` requests at a fixed concurrency, timed to the ack and to the response_url post."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlencode, urlsplit

from benchmarks.procs import SECRET
from bot.demo.fakeslack import FakeSlack, sign

if TYPE_CHECKING:
    from benchmarks.services import Services

SLACK_LIMIT = 3.0  # seconds Slack waits for the ack before showing the user an error


@dataclass
class Load:
    acks: list[float] = field(default_factory=list)  # seconds from send to HTTP response
    answers: list[float] = field(default_factory=list)  # seconds from send to response_url post
    statuses: Counter[int] = field(default_factory=Counter)
    sent: dict[str, float] = field(default_factory=dict)  # response_url token -> send time
    wall: float = 0.0  # seconds from the first send to the last ack

    @property
    def over_limit(self) -> int:
        return sum(ack > SLACK_LIMIT for ack in self.acks)


def command_body(text: str, response_url: str, n: int) -> str:
    return urlencode({
        "command": "/cron", "text": text, "user_id": f"UREADER{n % 7}", "channel_id": "C1",
        "team_id": "T1", "trigger_id": f"t{n}", "response_url": response_url,
    })  # fmt: skip


class Answers(Protocol):
    """Where answers go: a fake Slack, here or in the services process."""

    def response_url(self) -> str: ...


async def send(url: str, fake: Answers, *, text: str, requests: int, concurrency: int) -> Load:
    """``requests`` signed commands, ``concurrency`` in flight at any moment (closed loop).

    Each worker keeps one HTTP/1.1 connection: a few lines of asyncio streams instead of an
    HTTP client library, whose own per-request cost (httpx's pool scans every connection on
    each request) would otherwise be what this measures.
    """
    result = Load()
    numbers = iter(range(requests))
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in numbers:
                response_url = fake.response_url()
                body = command_body(text, response_url, n)
                request = _request(host, port, body, sign(SECRET, body))
                started = time.monotonic()
                result.sent[response_url.rsplit("/", 1)[1]] = started
                writer.write(request)
                status = await _response(reader)
                result.acks.append(time.monotonic() - started)
                result.statuses[status] += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.wall = time.monotonic() - began
    return result


def _request(host: str, port: int, body: str, headers: dict[str, str]) -> bytes:
    data = body.encode()
    lines = ["POST /slack/events HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(data)}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one response (status line, headers, Content-Length body); its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    length = {k.strip().lower(): v.strip() for k, v in headers.items()}.get("content-length")
    if length is None:
        raise RuntimeError("a response without Content-Length; this client reads no other kind")
    await reader.readexactly(int(length))
    return status


async def collect_remote(services: Services, load: Load, *, within: float) -> None:
    """As collect_answers, for answers arriving at the services process's fake Slack."""
    arrived = await services.answers(list(load.sent), within=within)
    load.answers = [at - load.sent[token] for token, at in arrived.items()]


async def collect_answers(fake: FakeSlack, load: Load, *, within: float) -> None:
    """Wait for every response_url post of ``load``; record send-to-arrival times."""
    try:
        calls = await fake.wait_for(
            "response_url", len(load.sent), within=within, where=lambda c: c.token in load.sent
        )
    except TimeoutError:
        calls = [c for c in fake.of("response_url") if c.token in load.sent]
    first: dict[str, float] = {}
    for call in calls:
        first.setdefault(call.token, call.at)
    load.answers = [at - load.sent[token] for token, at in first.items()]
