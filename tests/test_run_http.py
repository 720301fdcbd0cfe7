"""`cronops run` in HTTP mode as a process: config file, simulators and fake Slack on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
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


@dataclass
class RunningBot:
    slack: str  # the Slack port's URL (`--port`): /slack/events only
    admin: str  # the admin port's URL (CRONOPS_ADMIN_PORT): /healthz and /metrics
    fake: FakeSlack
    suite: SimSuite
    process: asyncio.subprocess.Process


@contextlib.asynccontextmanager
async def running_bot(tmp_path: Path, *, socket_mode: bool = False) -> AsyncIterator[RunningBot]:
    suite, fake = SimSuite(seed=2, jobs=8, options=UNLIMITED), FakeSlack()
    async with LoopbackServer(suite.app) as sims, LoopbackServer(fake.app) as slack:
        fake.base_url = slack.url
        (tmp_path / "cronops.yml").write_text(_config(suite, sims.url))
        port, admin_port = _free_port(), _free_port()
        env = {
            **os.environ, "SIM_KEY": SIM_KEY, "SLACK_BOT_TOKEN": "xoxb-process",
            "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{slack.url}/api/",
            "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"),
            "CRONOPS_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
            "CRONOPS_ADMIN_PORT": str(admin_port),
        }  # fmt: skip
        env.pop("SLACK_APP_TOKEN", None)
        env.pop("CRONOPS_ADMIN_HOST", None)
        if socket_mode:
            env["SLACK_APP_TOKEN"] = "xapp-process"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port),
            env=env, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        running = RunningBot(
            f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}", fake, suite, process
        )
        try:
            await _wait_healthy(running.admin, process)
            yield running
        finally:
            if process.returncode is None:
                process.terminate()
                await asyncio.wait_for(process.wait(), 15)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(tmp_path) as running:
        yield running


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


async def test_the_bot_process_answers_a_signed_command(bot: RunningBot) -> None:
    url, fake = bot.slack, bot.fake
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
        metrics = await client.get(f"{bot.admin}/metrics")
    assert acked.status_code == 200
    assert ack_seconds < 3
    assert refused.status_code == 401
    assert metrics.status_code == 200
    assert "cronops_provider_requests_total" in metrics.text
    (answer,) = await fake.wait_for("response_url", within=15)
    for prefix in ("prod:", "hub:", "ci:", "apps:"):
        assert f"`{prefix}" in str(answer.body), prefix


async def test_a_failing_job_reaches_slack_as_an_alert(bot: RunningBot) -> None:
    fake, suite = bot.fake, bot.suite
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
        health = (await client.get(f"{bot.admin}/healthz")).json()
        for _ in range(50):  # the gauges are refreshed just after the alert is sent
            metrics = (await client.get(f"{bot.admin}/metrics")).text
            if "cronops_open_incidents 1.0" in metrics:
                break
            await asyncio.sleep(0.1)
    assert health["status"] == "ok"
    assert health["scheduler"] == "running"
    assert health["accounts"]["prod"]["last_success"] is not None
    assert 'cronops_polls_total{account="prod",outcome="ok"}' in metrics
    assert "cronops_open_incidents 1.0" in metrics


async def _first_polls_done(fake: FakeSlack) -> None:
    """The first poll of each account ends with its summary (every seeded account has failures)."""
    await fake.wait_for(
        "chat.postMessage", 4, within=30, where=lambda c: "first-start:" in str(c.body)
    )


async def test_the_slack_port_serves_only_slack_and_the_admin_port_only_health(
    bot: RunningBot,
) -> None:
    body = "command=/cron&text=help"
    async with httpx.AsyncClient() as client:
        on_slack = [(await client.get(f"{bot.slack}{path}")).status_code
                    for path in ("/healthz", "/metrics")]  # fmt: skip
        health = await client.get(f"{bot.admin}/healthz")
        metrics = await client.get(f"{bot.admin}/metrics")
        slack_on_admin = await client.post(
            f"{bot.admin}/slack/events", content=body, headers=sign(SECRET, body)
        )
    assert on_slack == [404, 404]
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert metrics.status_code == 200
    assert "cronops_provider_requests_total" in metrics.text
    assert slack_on_admin.status_code == 404


async def test_socket_mode_opens_only_the_admin_port(tmp_path: Path) -> None:
    async with running_bot(tmp_path, socket_mode=True) as bot:
        fake, process = bot.fake, bot.process
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{bot.admin}/healthz")).status_code == 200
            assert (await client.get(f"{bot.admin}/metrics")).status_code == 200
            body = "command=/cron&text=list"
            refused = await client.post(
                f"{bot.admin}/slack/events", content=body, headers=sign(SECRET, body)
            )
            with pytest.raises(httpx.ConnectError):  # no Slack port at all
                await client.get(f"{bot.slack}/healthz")
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


async def test_an_admin_port_equal_to_the_slack_port_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "cronops.yml").write_text("accounts: []\n")
    port = _free_port()
    env = {
        **os.environ, "SLACK_BOT_TOKEN": "xoxb-process", "SLACK_SIGNING_SECRET": SECRET,
        "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"), "CRONOPS_ADMIN_PORT": str(port),
        "CRONOPS_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
    }  # fmt: skip
    env.pop("SLACK_APP_TOKEN", None)
    code, err = await _run_to_exit(["--host", "127.0.0.1", "--port", str(port)], env)
    assert code == 2
    assert f"CRONOPS_ADMIN_PORT: {port} is also the Slack port (--port)" in err
    assert "Traceback" not in err


async def test_a_taken_admin_port_is_named_at_start(tmp_path: Path) -> None:
    (tmp_path / "cronops.yml").write_text("accounts: []\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ, "SLACK_BOT_TOKEN": "xoxb-process", "SLACK_APP_TOKEN": "xapp-process",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"), "CRONOPS_ADMIN_PORT": str(port),
            "CRONOPS_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }  # fmt: skip
        code, err = await _run_to_exit(["--host", "127.0.0.1"], env)
    assert code == 2
    assert f"CRONOPS_ADMIN_PORT: cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


async def _run_to_exit(args: list[str], env: dict[str, str]) -> tuple[int | None, str]:
    """`cronops run ARGS` expected to stop by itself: its exit code and stderr (30 s at most)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *args, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, err.decode()
