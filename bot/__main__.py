"""The `cronops` command: run | console [--demo] | check | simulate."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import sys
from collections.abc import Callable, Sequence

from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import build_app
from bot.console import Console, Extra
from bot.fakeslack import FakeSlack
from bot.gctune import tune_gc
from bot.http import build_http_app
from bot.monitor import Monitor, build_monitor
from bot.runtime import (
    CONSOLE_CHANNEL,
    Runtime,
    demo_runtime,
    runtime,
    setup_logging,
)
from bot.scheduler import build_scheduler
from bot.scheduler import stop as stop_scheduler
from bot.service import RefError
from bot.settings import ConfigError, Settings, load_settings
from providers.errors import ProviderError
from providers.sim.serve import EmbeddedServer, LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cronops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the bot: Socket Mode if SLACK_APP_TOKEN is set, else HTTP")
    run.add_argument("--host", default="0.0.0.0")
    run.add_argument("--port", type=int, default=3000)
    console = sub.add_parser("console", help="a terminal stand-in for Slack")
    console.add_argument("--demo", action="store_true", help="use the built-in simulators")
    sub.add_parser("check", help="validate the config and call each account once")
    poll = sub.add_parser("poll", help="one poll cycle of every account")
    poll.add_argument("--once", action="store_true", required=True, help="poll once and exit")
    simulate = sub.add_parser("simulate", help="serve the provider simulators over HTTP")
    simulate.add_argument("--port", type=int, default=8900)
    simulate.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        if args.command == "console":
            return asyncio.run(_console(args.demo))
        if args.command == "simulate":
            return asyncio.run(_simulate(args.host, args.port))
        settings = load_settings()
        setup_logging(settings.env.cronops_log_level, settings.env.cronops_log_format)
        if args.command == "check":
            return asyncio.run(_check(settings))
        if args.command == "poll":
            return asyncio.run(_poll_once(settings))
        tune_gc()  # the long-running bot, after its modules and settings are loaded
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(_run(settings, args.host, args.port))
    except ConfigError as error:
        print("cronops: the configuration has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed (it is a dependency on Linux and macOS)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _console(demo: bool) -> int:
    setup_logging("WARNING")
    if not demo:
        settings = load_settings()
        async with runtime(
            settings.accounts, database_url=settings.database_url, operators=["UCONSOLE"]
        ) as built:
            return await _console_loop(built)
    async with demo_runtime() as (built, suite):
        built.deps.alerts_channel = CONSOLE_CHANNEL
        return await _console_loop(built, suite)


async def _console_loop(built: Runtime, suite: SimSuite | None = None) -> int:
    fake = FakeSlack()
    async with LoopbackServer(fake.app) as server:
        fake.base_url = server.url
        secret = secrets.token_hex(16)
        app = build_app(
            built.deps, token="xoxb-console", signing_secret=secret,
            api_url=f"{server.url}/api/", process_before_response=True,
        )  # fmt: skip
        interactive = sys.stdin.isatty()

        async def ask(prompt: str) -> str | None:
            line = await asyncio.to_thread(_read_line, prompt if interactive else "")
            if line is not None and not interactive and prompt:
                print(f"{prompt}{line}")
            return line

        monitor = build_monitor(built.deps, app.client)
        extras = demo_words(built, monitor, suite) if suite is not None else {}
        console = Console(build_http_app(app), fake, secret, print, ask, extras)
        scheduler = build_scheduler(built.deps, app.client, monitor if suite else None)
        scheduler.start()
        if interactive:
            print("cronops console — type /cron help, `click N` for buttons, Ctrl-D to quit.")
            if suite is not None:
                print("Demo: `fail REF` / `recover REF` simulate a run, `poll` polls now.")
        try:
            while (line := await ask("cron> ")) is not None:
                await console.line(line)
        finally:
            await stop_scheduler(scheduler, built.deps)
            await console.aclose()
    return 0


def demo_words(built: Runtime, monitor: Monitor, suite: SimSuite) -> dict[str, Extra]:
    """Console-only words for the demo: make a simulated job fail or recover, poll now."""

    async def run(ref: str, ok: bool) -> str:
        if not ref:
            word = "recover" if ok else "fail"
            return f"`{word}` needs a job: `{word} REF` (a ref like `prod:4242`, or a job name)."
        try:
            job = await built.deps.service.resolve(ref)
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
        return f"(polled {len(built.deps.service.accounts)} accounts: {len(changes)} change(s))"

    return {"fail": fail, "recover": recover, "poll": poll}


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


async def _check(settings: Settings) -> int:
    failed = 0
    rows = [("account", "provider", "result", "jobs", "budget used/left")]
    async with runtime(
        settings.accounts, database_url=settings.database_url, operators=settings.operators
    ) as built:
        for name, provider in built.deps.service.providers.items():
            try:
                check = await provider.check()
            except ProviderError as error:
                failed += 1
                rows.append((name, provider.label, f"FAILED: {error.user_message}", "-", "-"))
                continue
            budget = "-"
            if check.budget_limit:
                used = check.budget_used or 0
                budget = f"{used}/{check.budget_limit - used}"
            rows.append((name, provider.label, "ok", str(check.jobs), budget))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 1 if failed else 0


async def _serve(
    app: AsyncApp, built: Runtime, host: str, port: int, socket_mode: bool,
    app_token: SecretStr | None,
) -> None:  # fmt: skip
    """HTTP mode serves Slack's endpoint; Socket Mode connects out and serves only health."""
    import uvicorn

    http_app = build_http_app(None if socket_mode else app, built.deps)
    config = uvicorn.Config(http_app, host=host, port=port, log_level="warning")
    server = EmbeddedServer(config)  # we handle signals, so our cleanup runs before exit
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    if not socket_mode:
        await server.serve()
        return
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert app_token is not None
    handler = AsyncSocketModeHandler(app, app_token.get_secret_value())
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await server.serve()  # until SIGTERM or SIGINT
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


async def _poll_once(settings: Settings) -> int:
    """One cycle: post what it finds when a bot token is set, print it in any case."""
    token = settings.env.slack_bot_token
    async with runtime(
        settings.accounts, database_url=settings.database_url, operators=settings.operators,
        alerts=settings.config.alerts,
    ) as built:  # fmt: skip
        client = AsyncWebClient(
            token=token.get_secret_value() if token else None, base_url=settings.env.slack_api_url
        )
        monitor = build_monitor(built.deps, client)
        if token is None:
            monitor.notifier.default_channel = None  # nothing to post to: just report
        transitions = await monitor.poll_all()
        for t in transitions:
            subject = t.job.ref if t.job else t.account
            print(f"{t.kind.value:14} {subject}  {t.error or ''}".rstrip())
        print(f"{len(transitions)} change(s) in {len(built.deps.service.accounts)} account(s)")
    return 0


async def _simulate(host: str, port: int) -> int:
    suite = SimSuite(options=UNLIMITED)
    async with LoopbackServer(suite.app, host=host, port=port) as server:
        print(f"Simulators on {server.url} (API key for every provider: sim-secret-key)")
        for account in suite.accounts(server.url):
            print(f"  {account.provider:12} base_url: {account.base_url}")
        await asyncio.Event().wait()
    return 0


async def _run(settings: Settings, host: str, port: int) -> int:
    env = settings.env
    if env.slack_bot_token is None:
        raise ConfigError(["SLACK_BOT_TOKEN: not set; the bot needs its xoxb- token"])
    socket_mode = env.slack_app_token is not None
    if not socket_mode and env.slack_signing_secret is None:
        raise ConfigError(["SLACK_SIGNING_SECRET: not set; HTTP mode verifies every request"])
    async with runtime(
        settings.accounts, database_url=settings.database_url, operators=settings.operators,
        audit_channel=settings.config.access.audit_channel, alerts=settings.config.alerts,
    ) as built:  # fmt: skip
        signing = env.slack_signing_secret
        secret = signing.get_secret_value() if signing is not None and not socket_mode else None
        app = build_app(
            built.deps, token=env.slack_bot_token.get_secret_value(), signing_secret=secret,
            api_url=env.slack_api_url,
        )  # fmt: skip
        scheduler = build_scheduler(built.deps, app.client, build_monitor(built.deps, app.client))
        scheduler.start()
        built.deps.scheduler_running = lambda: bool(scheduler.running)
        try:
            await _serve(app, built, host, port, socket_mode, env.slack_app_token)
        finally:
            await stop_scheduler(scheduler, built.deps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
