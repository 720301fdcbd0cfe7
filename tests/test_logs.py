"""Logs never carry a secret, not even in a traceback, and SQL stays quiet unless asked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from bot import ports
from bot.config.settings import load_settings
from bot.demo.fakeslack import FakeSlack
from bot.logs import SQL_LOGGERS, setup_logging
from providers.redact import MASK, secrets
from providers.sim.base import SIM_KEY
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite
from tests.test_cli import cronops
from tests.test_run_http import _config

CANARY = "xoxb-canary-in-a-traceback-77"


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """Logging as the process sets it up, put back as it was afterwards."""
    root = logging.getLogger()
    names = [*SQL_LOGGERS, "httpx", "httpcore", "apscheduler"]
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in names})
    try:
        yield capsys
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


def _fail_with_the_canary() -> None:
    try:
        raise ConnectionError(f"refused: Authorization: Bearer {CANARY}")
    except ConnectionError as error:
        raise RuntimeError(f"the call with {CANARY} failed") from error


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_traceback_carrying_a_token_shows_no_secret(
    logs: pytest.CaptureFixture[str], fmt: str
) -> None:
    setup_logging("DEBUG", fmt)
    secrets.add(CANARY)
    log = logging.getLogger("bot.test")
    try:
        _fail_with_the_canary()
    except RuntimeError:
        log.debug("the call failed", exc_info=True)
        log.exception("again, as an error")
    log.debug("where we were", stack_info=True)
    record = log.makeRecord("bot.test", logging.DEBUG, __file__, 1, "a stack", (), None)
    record.stack_info = f'Stack (most recent call last):\n  File "x.py", line 1\n    {CANARY}'
    log.handle(record)
    err = logs.readouterr().err
    assert CANARY not in err
    if fmt == "json":
        events = [json.loads(line) for line in err.splitlines() if line.strip()]
        assert events[-1]["stack"].startswith("Stack (most recent call last)")
        err = "\n".join(str(value) for event in events for value in event.values())
    assert CANARY not in err
    assert "Traceback (most recent call last)" in err  # the traceback itself is kept
    assert "ConnectionError" in err
    assert err.count(MASK) >= 4  # two messages in the traceback, twice, and the stack


def test_a_record_that_cannot_be_formatted_shows_no_secret(
    logs: pytest.CaptureFixture[str],
) -> None:
    setup_logging("INFO", "text")
    secrets.add(CANARY)
    logging.getLogger("bot.test").info("%s and %d", CANARY, "not a number")
    err = logs.readouterr().err
    assert CANARY not in err
    assert "--- Logging error ---" not in err


def test_every_secret_in_the_environment_is_registered_at_load(
    tmp_path: Path, logs: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cronops.yml").write_text("accounts: []\n")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-canary-bot-1", "SLACK_APP_TOKEN": "xapp-canary-app-2",
        "SLACK_SIGNING_SECRET": "canary-signing-3",
        "CRONOPS_DATABASE_URL": "postgresql://cronops:canary%40db-4@db:5432/cronops",
    }  # fmt: skip
    load_settings(env, tmp_path / "cronops.yml")
    setup_logging("DEBUG", "json")
    logging.getLogger("bot.test").debug("env: %s; password as typed: canary@db-4", env)
    err = logs.readouterr().err
    for leak in ("bot-1", "app-2", "signing-3", "canary%40db-4", "canary@db-4"):
        assert leak not in err, leak


def test_sql_loggers_stay_at_warning_unless_asked(logs: pytest.CaptureFixture[str]) -> None:
    setup_logging("DEBUG", "text")
    assert {"aiosqlite", "sqlalchemy.engine", "asyncpg"} <= set(SQL_LOGGERS)
    for name in SQL_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
    setup_logging("DEBUG", "text", sql=True)
    for name in SQL_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.DEBUG, name


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_debug_poll_once_prints_no_statement_and_no_secret(tmp_path: Path, fmt: str) -> None:
    suite, fake = SimSuite(seed=6, jobs=4, options=UNLIMITED), FakeSlack()
    async with LoopbackServer(suite.app) as sims, LoopbackServer(fake.app) as slack:
        fake.base_url = slack.url
        (tmp_path / "cronops.yml").write_text(_config(suite, sims.url))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CRONOPS_"))},
            "SIM_KEY": SIM_KEY, "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"),
            "CRONOPS_DATABASE_URL": f"sqlite:///{tmp_path}/debug.db",
            "CRONOPS_LOG_LEVEL": "DEBUG", "CRONOPS_LOG_FORMAT": fmt,
            "SLACK_BOT_TOKEN": "xoxb-canary-debug-bot", "SLACK_API_URL": f"{slack.url}/api/",
            "SLACK_SIGNING_SECRET": "canary-debug-signing",
        }  # fmt: skip
        code, out, err = await cronops("poll", "--once", env=env)
        check_code, _, check_err = await cronops("check", env=env)
    assert (code, check_code) == (0, 0), err + check_err
    assert fake.of("chat.postMessage"), "the poll posted, so the bot token was used"
    text = err + check_err
    assert "DEBUG" in text or '"level": "DEBUG"' in text  # the level took effect
    for statement in ("SELECT ", "INSERT INTO", "UPDATE ", "executing functools.partial"):
        assert statement not in text, statement
    for leak in (SIM_KEY, "xoxb-canary-debug-bot", "canary-debug-signing"):
        assert leak not in text + out, leak
    if fmt == "json":
        loggers = {json.loads(line)["logger"] for line in text.splitlines() if line.strip()}
        assert not {n for n in loggers if n.startswith(("aiosqlite", "sqlalchemy", "asyncpg"))}


async def test_an_error_uvicorn_logs_is_scrubbed_like_every_record(
    logs: pytest.CaptureFixture[str],
) -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError(f"token {CANARY} was refused")

    setup_logging("INFO", "json")
    secrets.add(CANARY)
    (sock,) = ports.bind([ports.Port("test", "127.0.0.1", 0)])
    serving = ports.Serving([(failing, sock)])
    task = asyncio.create_task(serving.run())
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):  # until the server is up
                with contextlib.suppress(httpx.TransportError):
                    response = await client.get(f"http://127.0.0.1:{sock.getsockname()[1]}/")
                    break
                await asyncio.sleep(0.05)
        assert response.status_code == 500
    finally:
        serving.stop()
        await task
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    err = logs.readouterr().err
    events = [json.loads(line) for line in err.splitlines() if line.strip()]
    (error,) = [e for e in events if e["logger"] == "uvicorn.error"]
    assert "Exception in ASGI application" in error["message"]
    assert MASK in error["error"]
    assert CANARY not in err
