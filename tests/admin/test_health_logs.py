"""/healthz says when something is wrong; logs are one JSON object per line, never a secret."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from bot.admin import health
from bot.alerts.owners import TTL, Ownership
from bot.logs import setup_logging
from bot.runtime import runtime
from providers.clock import utcnow
from providers.sim.suite import UNLIMITED, SimSuite


async def _healthz(tmp_path: Path, *, scheduler: bool) -> httpx.Response:
    suite = SimSuite(jobs=3, options=UNLIMITED)
    async with runtime(
        suite.accounts(), database_url=f"sqlite:///{tmp_path}/h.db", operators=[],
        transport_for=suite.transport_for,
    ) as built:  # fmt: skip
        admin = Starlette(routes=health.routes(built.store, built.deps.metrics, lambda: scheduler))
        transport = httpx.ASGITransport(app=admin)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            return await client.get("/healthz")


async def test_a_healthy_process_says_ok(tmp_path: Path) -> None:
    response = await _healthz(tmp_path, scheduler=True)
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_a_stopped_scheduler_is_unhealthy(tmp_path: Path) -> None:
    response = await _healthz(tmp_path, scheduler=False)
    assert response.status_code == 503
    assert response.json()["scheduler"] == "stopped"


async def test_health_and_metrics_name_who_polls_each_account(tmp_path: Path) -> None:
    suite = SimSuite(jobs=3, options=UNLIMITED)
    async with runtime(
        suite.accounts(), database_url=f"sqlite:///{tmp_path}/h.db", operators=[],
        transport_for=suite.transport_for,
    ) as built:  # fmt: skip
        metrics, now, me = built.deps.metrics, utcnow(), "bot-a:1:aaaaaa"
        for account in ("prod", "hub"):
            await built.store.accounts.record_poll(account, now, ok=True, requests=1)
        # hub's poller died long ago (no heartbeat since, its lease ran out): taken over
        await built.store.leases.take("poll:hub", "bot-b:2:bbbbbb", now - 2 * TTL, TTL)
        await Ownership(built.store, me, ["prod", "hub"], metrics=metrics).keep()
        admin = Starlette(routes=health.routes(built.store, metrics, lambda: True, me))
        transport = httpx.ASGITransport(app=admin)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            report = (await client.get("/healthz")).json()
            exposition = (await client.get("/metrics")).text

    assert report["process"] == me
    assert {a: s["polled_by"] for a, s in report["accounts"].items()} == {"prod": me, "hub": me}
    assert "cronops_leases_held 2.0" in exposition
    assert "cronops_lease_takeovers_total 1.0" in exposition


async def test_json_logs_are_one_object_per_line_without_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging("DEBUG", "json")
    try:
        from providers.redact import secrets

        secrets.add("xoxb-canary-token-42")
        logging.getLogger("bot.test").info("token is %s", "xoxb-canary-token-42")
        logging.getLogger("bot.test").warning("plain event")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    assert [e["message"] for e in events][-1] == "plain event"
    assert all({"time", "level", "logger", "message"} <= set(e) for e in events)
    assert "xoxb-canary-token-42" not in "\n".join(lines)
