"""The ports `cronops run` listens on, served with uvicorn until SIGTERM or SIGINT.

HTTP mode opens two: Slack's (``--host``/``--port``: ``/slack/events`` only) and the admin
port (``CRONOPS_ADMIN_HOST``/``CRONOPS_ADMIN_PORT``: ``/healthz`` and ``/metrics``), so the
port Slack reaches never shows health or metrics. Socket Mode opens only the admin port.
Every port is bound before any is served: one that is taken is reported by the setting that
names it, as a configuration problem, not as a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from bot.config.errors import ConfigError

_ANY_HOST = frozenset({"", "0.0.0.0", "::"})


@dataclass(frozen=True)
class Port:
    """A port to listen on, and the setting an operator changes to move it."""

    setting: str
    host: str
    number: int

    def overlaps(self, other: Port) -> bool:
        """Both would listen on the same port of one address."""
        same_host = self.host == other.host or {self.host, other.host} & _ANY_HOST
        return self.number == other.number and bool(same_host)


def check_distinct(ports: Sequence[Port]) -> None:
    """ConfigError if two of ``ports`` would listen on the same address and port."""
    for index, later in enumerate(ports):
        for earlier in ports[:index]:
            if later.overlaps(earlier):
                raise ConfigError([
                    f"{later.setting}: {later.number} is also the Slack port ({earlier.setting}); "
                    "give the admin port a port of its own"
                ])  # fmt: skip


def bind(ports: Sequence[Port]) -> list[socket.socket]:
    """A listening-ready socket per port; ConfigError naming the setting if one cannot bind."""
    bound: list[socket.socket] = []
    for port in ports:
        family = socket.AF_INET6 if ":" in port.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((port.host, port.number))
        except OSError as error:
            sock.close()
            for other in bound:
                other.close()
            reason = error.strerror or type(error).__name__
            raise ConfigError([
                f"{port.setting}: cannot listen on {port.host}:{port.number} ({reason})"
            ]) from None  # fmt: skip
        bound.append(sock)
    return bound


class Serving:
    """uvicorn servers for ``apps``, each on its socket, stopped together by SIGTERM or SIGINT.

    The signal handlers are installed when it is made, so a signal that arrives before
    :meth:`run` (while Socket Mode connects) still stops the process cleanly.
    """

    def __init__(self, apps: Sequence[tuple[ASGIApp, socket.socket]]) -> None:
        self._apps = [(_Server(_config(app)), sock) for app, sock in apps]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)

    def stop(self) -> None:
        for server, _ in self._apps:
            server.should_exit = True

    async def run(self) -> None:
        """Serve until stopped (or until one server stops, which stops the others)."""
        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in self._apps]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stop()
            await asyncio.gather(*tasks)


def _config(app: ASGIApp) -> uvicorn.Config:
    # log_config=None: uvicorn's records (an application error's traceback among them) go to
    # the root logger's handler, so they are formatted and scrubbed like every other record.
    return uvicorn.Config(app, log_level="warning", log_config=None)


class _Server(uvicorn.Server):
    """uvicorn, leaving signal handling to us so shutdown drains work before the store closes."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
