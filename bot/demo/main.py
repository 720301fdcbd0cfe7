"""`cronops console [--demo]` and `cronops simulate`: Slack and the providers, stood in for.

The console sends each typed line, signed, through the very same Bolt app and listeners; the
fake Slack API it talks to is served on loopback and what lands there is printed. ``--demo``
puts the built-in simulators behind every account (seeded jobs, some failing) and adds three
words: ``fail REF`` and ``recover REF`` simulate a run, ``poll`` polls now.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.alerts.cycle import Monitor
from bot.alerts.scheduler import stop as stop_scheduler
from bot.chat.service import RefError
from bot.config.settings import AlertsConfig, load_settings
from bot.demo.console import CHANNEL, USER, Console, Extra
from bot.demo.fakeslack import FakeSlack
from bot.logs import setup_logging
from bot.runtime import Runtime, runtime
from bot.slack.app import build_app
from bot.slack.http import build_http_app
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite


async def console(demo: bool) -> int:
    setup_logging("WARNING")
    if not demo:
        settings = load_settings()
        async with runtime(
            settings.accounts, database_url=settings.database_url, operators=[USER]
        ) as built:
            return await _console_loop(built)
    async with demo_runtime() as (built, suite):
        return await _console_loop(built, suite)


@asynccontextmanager
async def demo_runtime(suite: SimSuite | None = None) -> AsyncIterator[tuple[Runtime, SimSuite]]:
    """The built-in simulators, seeded; a scratch database; the console user is an operator;
    alerts go to the console's channel."""
    suite = suite or SimSuite(options=UNLIMITED)
    alerts = AlertsConfig().model_copy(update={"channel": CHANNEL})
    with tempfile.TemporaryDirectory(prefix="cronops-demo-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'demo.db'}"
        async with runtime(
            suite.accounts(), database_url=url, operators=[USER],
            transport_for=suite.transport_for, alerts=alerts,
        ) as built:  # fmt: skip
            yield built, suite


async def _console_loop(built: Runtime, suite: SimSuite | None = None) -> int:
    fake = FakeSlack()
    deps = built.deps
    async with LoopbackServer(fake.app) as server:
        fake.base_url = server.url
        secret = secrets.token_hex(16)
        app = build_app(
            deps, token="xoxb-console", signing_secret=secret, api_url=f"{server.url}/api/",
            ack_first=False,
        )  # fmt: skip
        interactive = sys.stdin.isatty()

        async def ask(prompt: str) -> str | None:
            line = await asyncio.to_thread(_read_line, prompt if interactive else "")
            if line is not None and not interactive and prompt:
                print(f"{prompt}{line}")
            return line

        monitor = built.monitor(app.client)
        extras = demo_words(built, monitor, suite) if suite is not None else {}
        console = Console(build_http_app(app), fake, secret, print, ask, extras)
        scheduler = built.scheduler(monitor, poll=suite is not None)
        scheduler.start()
        if interactive:
            print("cronops console — type /cron help, `click N` for buttons, Ctrl-D to quit.")
            if suite is not None:
                print("Demo: `fail REF` / `recover REF` simulate a run, `poll` polls now.")
        try:
            while (line := await ask("cron> ")) is not None:
                await console.line(line)
        finally:
            await stop_scheduler(scheduler, deps.inflight)
            await console.aclose()
    return 0


def demo_words(built: Runtime, monitor: Monitor, suite: SimSuite) -> dict[str, Extra]:
    """Console-only words for the demo: make a simulated job fail or recover, poll now."""
    service = built.deps.service

    async def run(ref: str, ok: bool) -> str:
        if not ref:
            word = "recover" if ok else "fail"
            return f"`{word}` needs a job: `{word} REF` (a ref like `prod:4242`, or a job name)."
        try:
            job = await service.resolve(ref)
        except RefError as error:
            return error.message
        suite[job.provider].run(job.id, ok=ok)
        return f"(simulated a {'good' if ok else 'failed'} run of {job.ref}; `poll` to see it)"

    async def fail(ref: str) -> str:
        return await run(ref, ok=False)

    async def recover(ref: str) -> str:
        return await run(ref, ok=True)

    async def poll(_: str) -> str:
        changes = await monitor.poll_all()
        return f"(polled {len(service.accounts)} accounts: {len(changes)} change(s))"

    return {"fail": fail, "recover": recover, "poll": poll}


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


async def simulate(host: str, port: int) -> int:
    suite = SimSuite(options=UNLIMITED)
    async with LoopbackServer(suite.app, host=host, port=port) as server:
        print(f"Simulators on {server.url} (API key for every provider: sim-secret-key)")
        for account in suite.accounts(server.url):
            print(f"  {account.provider:12} base_url: {account.base_url}")
        await asyncio.Event().wait()
    return 0
