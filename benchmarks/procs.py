"""Child processes (`cronops run`, the baseline Bolt app), always stopped, even on failure."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from providers.sim.base import SIM_KEY
from providers.sim.suite import SimSuite

SECRET = "bench-signing-secret"
UNSET = ("SLACK_APP_TOKEN",)  # children run in HTTP mode, whatever the caller's shell has set


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_config(
    suite: SimSuite, root: str, *, poll_interval: str = "60s", budget: int = 5000
) -> str:
    """cronops.yml for the suite's four accounts served at ``root`` (as tests/test_run_http.py)."""
    lines = ["accounts:"]
    for account in suite.accounts(root):
        key = "token" if account.provider == "djinn" else "api_key"
        lines += [f"  - name: {account.name}", f"    provider: {account.provider}",
                  f"    {key}: ${{SIM_KEY}}", f"    base_url: {account.base_url}"]  # fmt: skip
        if account.provider == "cronjob-org":
            lines += [f"    daily_request_budget: {budget}"]
    lines += ["alerts:", "  channel: C0123456789", f"  poll_interval: {poll_interval}"]
    lines += ["access:", "  operators: [UOPERATOR]"]
    return "\n".join(lines) + "\n"


@dataclass
class Child:
    """A child process serving HTTP at ``url``."""

    url: str
    process: asyncio.subprocess.Process
    admin: str = ""  # where its /healthz is (`cronops run`: the admin port); else ``url``

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def child(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    url: str,
    admin: str | None = None,
    within: float = 60.0,
) -> AsyncIterator[Child]:
    """``python args...`` until ``admin`` (default ``url``) /healthz answers 200; terminated
    (then killed) after."""
    with tempfile.TemporaryFile() as stderr:
        inherited = {k: v for k, v in os.environ.items() if k not in UNSET}
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, env={**inherited, **env}, stderr=stderr,
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await _wait_healthy(f"{admin or url}/healthz", process, stderr, within)
            yield Child(url, process, admin or url)
        finally:
            await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _wait_healthy(
    url: str, process: asyncio.subprocess.Process, stderr: object, within: float
) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"{url}: the process exited: {_tail(stderr)}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy in {within:.0f} s: {_tail(stderr)}")


def _tail(stderr: object) -> str:
    try:
        stderr.seek(0)  # type: ignore[attr-defined]
        return str(stderr.read()[-2000:].decode(errors="replace"))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return ""


@contextlib.asynccontextmanager
async def cronops_run(
    suite: SimSuite, sims_url: str, slack_url: str, *, poll_interval: str = "60s"
) -> AsyncIterator[Child]:
    """`cronops run` in HTTP mode as a child process."""
    with tempfile.TemporaryDirectory(prefix="cronops-bench-") as scratch:
        config = Path(scratch) / "cronops.yml"
        config.write_text(bot_config(suite, sims_url, poll_interval=poll_interval))
        port, admin = free_port(), free_port()
        env = {
            "SIM_KEY": SIM_KEY, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": f"{slack_url}/api/", "CRONOPS_CONFIG": str(config),
            "CRONOPS_DATABASE_URL": f"sqlite:///{scratch}/bot.db", "CRONOPS_LOG_LEVEL": "WARNING",
            "CRONOPS_ADMIN_PORT": str(admin),  # /healthz is there since the admin port came
        }  # fmt: skip
        args = ["-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)]
        url, admin_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}"
        async with child(args, env, url=url, admin=admin_url) as bot:
            yield bot
