"""The `cronops` command: run | console [--demo] | check | poll --once | simulate."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

from bot.config.settings import ConfigError, load_settings
from bot.logs import setup_logging
from bot.store.db import DatabaseUnavailable


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command in ("console", "simulate"):  # the demo's modules load only here
            from bot.demo import main as demo

            if args.command == "console":
                return asyncio.run(demo.console(args.demo))
            return asyncio.run(demo.simulate(args.host, args.port))
        from bot import runtime

        settings = load_settings()
        env = settings.env
        setup_logging(env.cronops_log_level, env.cronops_log_format, sql=env.cronops_log_sql)
        if args.command == "check":
            return asyncio.run(runtime.check(settings))
        if args.command == "poll":
            return asyncio.run(runtime.poll_once(settings))
        runtime.tune_gc()  # the long-running bot, after its modules and settings are loaded
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(runtime.run(settings, args.host, args.port))
    except ConfigError as error:
        print("cronops: the configuration has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:
        print(f"cronops: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cronops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the bot: Socket Mode if SLACK_APP_TOKEN is set, else HTTP")
    run.add_argument("--host", default="0.0.0.0", help="address of the ports (default 0.0.0.0)")
    run.add_argument(
        "--port", type=int, default=3000,
        help="Slack's port in HTTP mode (default 3000); health and metrics are on "
        "CRONOPS_ADMIN_PORT (default 9100)",
    )  # fmt: skip
    console = sub.add_parser("console", help="a terminal stand-in for Slack")
    console.add_argument("--demo", action="store_true", help="use the built-in simulators")
    sub.add_parser("check", help="validate the config and call each account once")
    poll = sub.add_parser("poll", help="one poll cycle of every account")
    poll.add_argument("--once", action="store_true", required=True, help="poll once and exit")
    simulate = sub.add_parser("simulate", help="serve the provider simulators over HTTP")
    simulate.add_argument("--port", type=int, default=8900)
    simulate.add_argument("--host", default="127.0.0.1")
    return parser


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed (it is a dependency on Linux and macOS)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    sys.exit(main())
