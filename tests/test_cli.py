"""The `cronops` commands people run by hand: check and poll --once, against loopback simulators."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from providers.sim.base import SIM_KEY
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite
from tests.test_replicas import _free_port
from tests.test_run_http import _config


async def cronops(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 90)
    return process.returncode or 0, out.decode(), err.decode()


def edit(path: str, old: str, new: str) -> None:
    config = Path(path)
    config.write_text(config.read_text().replace(old, new))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    suite = SimSuite(seed=6, jobs=6, options=UNLIMITED)
    async with LoopbackServer(suite.app) as sims:
        (tmp_path / "cronops.yml").write_text(_config(suite, sims.url))
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        yield {
            **environ, "SIM_KEY": SIM_KEY, "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"),
            "CRONOPS_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        }  # fmt: skip


async def test_check_prints_a_table_and_passes(env: dict[str, str]) -> None:
    code, out, err = await cronops("check", env=env)
    assert code == 0, err
    for account in ("prod", "hub", "ci", "apps"):
        assert account in out
    assert out.count(" ok ") == 4
    assert SIM_KEY not in out + err


async def test_check_fails_clearly_when_one_key_is_wrong(env: dict[str, str]) -> None:
    edit(env["CRONOPS_CONFIG"], "token: ${SIM_KEY}", "token: ${DJINN_TOKEN}")
    code, out, err = await cronops("check", env={**env, "DJINN_TOKEN": "wrong-token-123"})
    assert code == 1
    assert "FAILED" in out
    assert "rejected" in out
    assert "wrong-token-123" not in out + err


async def test_check_reports_config_problems_by_key_path(env: dict[str, str]) -> None:
    edit(env["CRONOPS_CONFIG"], "provider: cronhub", "provider: cronhubb")
    code, _, err = await cronops("check", env=env)
    assert code == 2
    assert "accounts[1].provider" in err
    assert "Traceback" not in err


async def test_poll_once_reports_what_it_found_and_exits(env: dict[str, str]) -> None:
    code, out, err = await cronops("poll", "--once", env=env)
    assert code == 0, err
    assert "first_start" in out
    assert "change(s) in 4 account(s)" in out
    code, out, _ = await cronops("poll", "--once", env=env)  # the database remembers
    assert code == 0
    assert "first_start" not in out


@pytest.mark.parametrize("command", [("check",), ("poll", "--once"), ("run",)])
@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://cronops:db-pw-3141@127.0.0.1:1/cronops", "127.0.0.1:1"),  # nobody there
        ("sqlite:////nonexistent-dir/cronops.db", "/nonexistent-dir/cronops.db"),
    ],
)
async def test_a_database_that_cannot_be_opened_is_named_without_a_traceback(
    env: dict[str, str], command: tuple[str, ...], url: str, said: str
) -> None:
    if command == ("run",):
        command += ("--host", "127.0.0.1", "--port", str(_free_port()))
    slack = {"SLACK_BOT_TOKEN": "xoxb-cli", "SLACK_SIGNING_SECRET": "secret",
             "CRONOPS_ADMIN_PORT": str(_free_port())}  # fmt: skip
    code, out, err = await cronops(*command, env={**env, **slack, "CRONOPS_DATABASE_URL": url})
    assert code == 2
    assert "cannot open the database" in err
    assert said in err
    assert "Traceback" not in out + err
    assert "db-pw-3141" not in out + err
