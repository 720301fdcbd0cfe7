"""The HTTP layer against misbehaving servers on real loopback: endless and slow-drip answers.

Each server is a bare asyncio socket server, so it can do what no well-behaved framework would:
send a body that never ends, declare one of 100 MiB, or drip one byte at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from providers.errors import BadResponse, ProviderUnavailable
from providers.http import MAX_RESPONSE_BYTES, ProviderHttp, RetryPolicy, make_http

MIB = 1024 * 1024
Behaviour = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Misbehaving:
    url: str
    written: int = 0


@contextlib.asynccontextmanager
async def misbehaving(behaviour: Behaviour) -> AsyncIterator[Misbehaving]:
    """A loopback server that reads a request's head, then answers with ``behaviour``."""
    state = Misbehaving(url="")
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await reader.readuntil(b"\r\n\r\n")
            original = writer.write

            def counting(data: bytes | bytearray | memoryview) -> None:
                state.written += len(data)
                original(data)

            writer.write = counting  # type: ignore[method-assign]
            await behaviour(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: what the tests want
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield state
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


def client(url: str, *, timeout: float = 10.0) -> ProviderHttp:
    return make_http(
        account="prod", provider="Example", base_url=url, headers={}, timeout=timeout,
        retry=RetryPolicy(attempts=1),
    )  # fmt: skip


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


async def endless_body(writer: asyncio.StreamWriter) -> None:
    """A chunked body that goes on for 64 MiB, four times the cap, unless the client leaves."""
    writer.write(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (MIB, b"[" * MIB)
    for _ in range(64):
        writer.write(chunk)
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def huge_declared_length(writer: asyncio.StreamWriter) -> None:
    writer.write(HEAD + b"Content-Length: %d\r\n\r\n[" % (100 * MIB))
    await writer.drain()
    await asyncio.sleep(30)  # the rest never comes: only the header can end this quickly


async def drip_body(writer: asyncio.StreamWriter) -> None:
    """Headers at once, then a byte every 0.2 s: no single read ever times out."""
    writer.write(HEAD + b"Content-Length: 1000\r\n\r\n")
    for _ in range(1000):
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(b" ")


async def drip_head(writer: asyncio.StreamWriter) -> None:
    """Even the status line and headers come a byte every 0.2 s."""
    for byte in HEAD + b"X-Padding: " + b"x" * 1000:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.2)


async def test_the_cap_is_16_mib() -> None:
    assert MAX_RESPONSE_BYTES == 16 * MIB


async def test_an_answer_that_streams_past_16_mib_is_cut_off_as_a_bad_response() -> None:
    async with misbehaving(endless_body) as server:
        http = client(server.url)
        try:
            with pytest.raises(BadResponse, match="larger than 16 MiB") as raised:
                await asyncio.wait_for(http.request("GET", "/jobs", op="list"), 20)
        finally:
            await http.aclose()
        await asyncio.sleep(0.1)
    assert raised.value.account == "prod"
    assert "could not read" in raised.value.user_message
    assert server.written < 40 * MIB, "the client stopped reading soon after the cap"


async def test_a_declared_length_over_16_mib_is_refused_without_reading_it() -> None:
    async with misbehaving(huge_declared_length) as server:
        http = client(server.url)
        started = time.monotonic()
        try:
            with pytest.raises(BadResponse, match="larger than 16 MiB"):
                await asyncio.wait_for(http.request("GET", "/jobs", op="list"), 20)
        finally:
            await http.aclose()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("behaviour", [drip_body, drip_head], ids=["body", "head"])
async def test_a_slow_drip_answer_ends_at_the_account_timeout(behaviour: Behaviour) -> None:
    async with misbehaving(behaviour) as server:
        http = client(server.url, timeout=1.0)
        started = time.monotonic()
        try:
            with pytest.raises(ProviderUnavailable, match=r"no answer within 1\.0 s"):
                await asyncio.wait_for(http.request("GET", "/jobs", op="list"), 15)
        finally:
            await http.aclose()
    assert time.monotonic() - started < 3


class _Asked:
    """A finder that finds nothing and counts who looked for sniffio."""

    def __init__(self) -> None:
        self.sniffio = 0

    def find_spec(self, name: str, *args: object) -> None:
        self.sniffio += name == "sniffio"


async def test_requests_never_search_for_a_missing_sniffio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpcore asks for sniffio in every lock it makes; not installed, each failed import
    searched sys.path again (about 1 ms a request)."""

    async def ok(writer: asyncio.StreamWriter) -> None:
        writer.write(HEAD + b"Content-Length: 2\r\n\r\n{}")
        await writer.drain()

    asked = _Asked()
    monkeypatch.setattr(sys, "meta_path", [asked, *sys.meta_path])
    async with misbehaving(ok) as server:
        http = client(server.url)
        for _ in range(3):
            await http.request("GET", "jobs", op="list")
        await http.aclose()
    assert asked.sniffio == 0
