"""Ack first: Slack gets its HTTP 200 the moment a listener acks, the work carries on after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.demo.fakeslack import FakeSlack, sign
from bot.inflight import Inflight
from bot.slack.http import build_http_app
from bot.slack.listeners.context import Registrar, return_on_ack
from providers.sim.serve import LoopbackServer

SECRET = "ack-first-secret"


@dataclass
class Bench:
    http: httpx.AsyncClient
    inflight: Inflight
    release: asyncio.Event = field(default_factory=asyncio.Event)
    steps: list[str] = field(default_factory=list)

    async def command(self, text: str) -> httpx.Response:
        body = urlencode({
            "command": "/cron", "text": text, "user_id": "U1", "channel_id": "C1",
            "team_id": "T1", "trigger_id": "t1", "response_url": "http://127.0.0.1:9/r",
        })  # fmt: skip
        return await self.http.post("/slack/events", content=body, headers=sign(SECRET, body))


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    inflight = Inflight()
    fake = FakeSlack()  # answers Bolt's auth.test
    async with LoopbackServer(fake.app) as slack:
        fake.base_url = slack.url
        client = AsyncWebClient(token="xoxb-t", base_url=f"{slack.url}/api/")
        app = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True)
        transport = httpx.ASGITransport(app=build_http_app(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            yield await _bench(app, http, inflight)


async def _bench(app: AsyncApp, http: httpx.AsyncClient, inflight: Inflight) -> Bench:
    built = Bench(http, inflight)

    async def listener(ack: AsyncAck, command: dict[str, Any]) -> None:
        if command["text"] == "boom":
            raise RuntimeError("failed before the ack")
        await ack(text=f"working on {command['text']}")
        built.steps.append("acked")
        await built.release.wait()  # slow provider work
        built.steps.append("done")

    Registrar(app, lambda fn: return_on_ack(inflight, fn)).command("/cron")(listener)
    return built


async def test_the_ack_returns_while_the_work_goes_on(bench: Bench) -> None:
    response = await asyncio.wait_for(bench.command("list"), 2)
    assert response.status_code == 200
    assert response.text == "working on list"  # Bolt answers a text-only ack as plain text
    assert bench.steps == ["acked"]  # answered before the work finished
    bench.release.set()
    assert await bench.inflight.drain(within=2)
    assert bench.steps == ["acked", "done"]


async def test_shutdown_waits_for_the_work_after_the_ack(bench: Bench) -> None:
    await bench.command("list")
    assert not await bench.inflight.drain(within=0.1)  # still running
    bench.release.set()
    assert await bench.inflight.drain(within=2)


async def test_a_failure_before_the_ack_is_not_a_silent_200(bench: Bench) -> None:
    response = await bench.command("boom")
    assert response.status_code == 500
    assert bench.steps == []
