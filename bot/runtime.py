"""Building the running parts (store, providers, service, app) from settings or for the demo."""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.access import Access
from bot.app import Deps
from bot.metrics import Metrics
from bot.service import CronService
from bot.settings import AlertsConfig
from bot.store import Store
from providers.config import Account, BuildContext, TransportFor
from providers.redact import install_log_redaction
from providers.registry import build_providers
from providers.sim.suite import UNLIMITED, SimSuite

CONSOLE_USER = "UCONSOLE"
CONSOLE_CHANNEL = "CCONSOLE"


@dataclass
class Runtime:
    deps: Deps
    store: Store

    async def aclose(self) -> None:
        await self.deps.inflight.drain()
        await self.deps.responses.aclose()
        for provider in self.deps.service.providers.values():
            await provider.aclose()
        await self.store.close()


@asynccontextmanager
async def runtime(
    accounts: Sequence[Account],
    *,
    database_url: str,
    operators: Sequence[str],
    audit_channel: str | None = None,
    transport_for: TransportFor | None = None,
    alerts: AlertsConfig | None = None,
) -> AsyncIterator[Runtime]:
    store = await Store.open(database_url)
    metrics = Metrics()
    ctx = BuildContext(ledger=store, transport_for=transport_for, observer=metrics.observe_provider)
    providers = build_providers(list(accounts), ctx)
    deps = Deps(
        metrics=metrics,
        service=CronService(providers),
        access=Access(operators),
        store=store,
        audit_channel=audit_channel,
    )
    if alerts is not None:
        deps.alerts_channel = alerts.channel
        deps.poll_interval = alerts.poll_interval.total_seconds()
        deps.failures_before_alert = alerts.failures_before_alert
    built = Runtime(deps, store)
    try:
        yield built
    finally:
        await built.aclose()


@asynccontextmanager
async def demo_runtime(suite: SimSuite | None = None) -> AsyncIterator[tuple[Runtime, SimSuite]]:
    """The built-in simulators, seeded; a scratch database; the console user is an operator."""
    suite = suite or SimSuite(options=UNLIMITED)
    with tempfile.TemporaryDirectory(prefix="cronops-demo-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'demo.db'}"
        async with runtime(
            suite.accounts(), database_url=url, operators=[CONSOLE_USER],
            transport_for=suite.transport_for,
        ) as built:  # fmt: skip
            yield built, suite


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run otherwise
    install_log_redaction()


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        import json

        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)
