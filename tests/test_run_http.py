"""`cronops run` in HTTP mode as a process: config file, simulators and fake Slack on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.demo.fakeslack import FakeSlack, sign
from providers.sim.base import SIM_KEY
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite

SECRET = "process-signing-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(suite: SimSuite, root: str) -> str:
    lines = ["accounts:"]
    for account in suite.accounts(root):
        key = "token" if account.provider == "djinn" else "api_key"
        lines += [f"  - name: {account.name}", f"    provider: {account.provider}",
                  f"    {key}: ${{SIM_KEY}}", f"    base_url: {account.base_url}"]  # fmt: skip
        if account.provider == "cronjob-org":  # a sustaining member: polls are not slowed
            lines += ["    daily_request_budget: 5000"]
    lines += ["alerts:", "  channel: C0123456789", "  poll_interval: 10s"]
    lines += ["access:", "  operators: [UOPERATOR]"]
    return "\n".join(lines) + "\n"


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path, *, socket_mode: bool = False
) -> AsyncIterator[tuple[str, FakeSlack, SimSuite, asyncio.subprocess.Process]]:
    suite, fake = SimSuite(seed=2, jobs=8, options=UNLIMITED), FakeSlack()
    async with LoopbackServer(suite.app) as sims, LoopbackServer(fake.app) as slack:
        fake.base_url = slack.url
        (tmp_path / "cronops.yml").write_text(_config(suite, sims.url))
        port = _free_port()
        env = {
            **os.environ, "SIM_KEY": SIM_KEY, "SLACK_BOT_TOKEN": "xoxb-process",
            "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{slack.url}/api/",
            "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"),
            "CRONOPS_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }  # fmt: skip
        env.pop("SLACK_APP_TOKEN", None)
        if socket_mode:
            env["SLACK_APP_TOKEN"] = "xapp-process"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port),
            env=env, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            await _wait_healthy(url, process)
            yield url, fake, suite, process
        finally:
            if process.returncode is None:
                process.terminate()
                await asyncio.wait_for(process.wait(), 15)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[str, FakeSlack, SimSuite]]:
    async with running_bot(tmp_path) as (url, fake, suite, _):
        yield url, fake, suite


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                assert process.stderr is not None
                raise AssertionError((await process.stderr.read()).decode())
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("cronops run did not become healthy in 30 s")


async def test_the_bot_process_answers_a_signed_command(
    bot: tuple[str, FakeSlack, SimSuite],
) -> None:
    url, fake, _ = bot
    body = urlencode({
        "command": "/cron", "text": "list", "user_id": "UREADER", "channel_id": "C1",
        "team_id": "T1", "trigger_id": "t", "response_url": fake.response_url(),
    })  # fmt: skip
    async with httpx.AsyncClient() as client:
        started = time.perf_counter()
        acked = await client.post(f"{url}/slack/events", content=body, headers=sign(SECRET, body))
        ack_seconds = time.perf_counter() - started
        refused = await client.post(
            f"{url}/slack/events", content=body, headers=sign("wrong", body)
        )
        metrics = await client.get(f"{url}/metrics")
    assert acked.status_code == 200
    assert ack_seconds < 3
    assert refused.status_code == 401
    assert metrics.status_code == 200
    assert "cronops_provider_requests_total" in metrics.text
    (answer,) = await fake.wait_for("response_url", within=15)
    for prefix in ("prod:", "hub:", "ci:", "apps:"):
        assert f"`{prefix}" in str(answer.body), prefix


async def test_a_failing_job_reaches_slack_as_an_alert(
    bot: tuple[str, FakeSlack, SimSuite],
) -> None:
    _, fake, suite = bot
    await _first_polls_done(fake)
    sim: Any = suite["cronjob-org"]
    job = next(i for i, j in sim.jobs.items() if j["enabled"] and j["lastStatus"] == 1)
    sim.run(str(job), ok=False)
    alerts = await fake.wait_for(
        "chat.postMessage", within=30,
        where=lambda c: f"prod:{job}" in str(c.body) and "incident:" in str(c.body),
    )  # fmt: skip
    assert len(alerts) == 1
    assert alerts[0].body["channel"] == "C0123456789"
    assert alerts[0].body["unfurl_links"] is False
    assert not fake.of("conversations.history"), "no delivery was ever attempted twice"
    async with httpx.AsyncClient() as client:
        health = (await client.get(f"{_url(bot)}/healthz")).json()
        for _ in range(50):  # the gauges are refreshed just after the alert is sent
            metrics = (await client.get(f"{_url(bot)}/metrics")).text
            if "cronops_open_incidents 1.0" in metrics:
                break
            await asyncio.sleep(0.1)
    assert health["status"] == "ok"
    assert health["scheduler"] == "running"
    assert health["accounts"]["prod"]["last_success"] is not None
    assert 'cronops_polls_total{account="prod",outcome="ok"}' in metrics
    assert "cronops_open_incidents 1.0" in metrics


def _url(bot: tuple[str, FakeSlack, SimSuite]) -> str:
    return bot[0]


async def _first_polls_done(fake: FakeSlack) -> None:
    """The first poll of each account ends with its summary (every seeded account has failures)."""
    await fake.wait_for(
        "chat.postMessage", 4, within=30, where=lambda c: "first-start:" in str(c.body)
    )


async def test_socket_mode_serves_health_but_no_http_endpoint(tmp_path: Path) -> None:
    async with running_bot(tmp_path, socket_mode=True) as (url, fake, _, process):
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/healthz")).status_code == 200
            body = "command=/cron&text=list"
            refused = await client.post(
                f"{url}/slack/events", content=body, headers=sign(SECRET, body)
            )
        assert refused.status_code == 404  # requests come only over the websocket
        await fake.wait_for("apps.connections.open", within=15)
        fake.socket_send({
            "envelope_id": "e1", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"command": "/cron", "text": "list prod", "user_id": "U1",
                        "channel_id": "C1", "response_url": fake.response_url()},
        })  # fmt: skip
        (ack,) = await fake.wait_for("socket_ack", within=15)
        assert ack.body["envelope_id"] == "e1"
        await fake.wait_for("response_url", within=15)
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 15) == 0
