"""Realistic demo data for the Miget simulator: apps with add-ons, cron jobs, a few failing.

Three named apps (more are numbered), each with Postgres and Valkey add-ons and storage on the
first; cron jobs from ten templates mixing cron and interval schedules, about one in ten
failing and a few still pending, each run but the pending ones with a log. Every draw comes
from the simulator's ``rng`` in a fixed order, so a seed always yields the same workspace.
:meth:`~providers.sim.miget.MigetSim.seed_jobs` calls these with the simulator, whose
constructors they share with the API's create calls.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from providers.sim.miget_wire import ADDON_VERSIONS, ts

if TYPE_CHECKING:
    from providers.sim.miget import MigetSim

FAILING = ("failed", "failing", "crashloopbackoff", "problem")
APP_NAMES = (("shop-api", "Shop API"), ("billing-worker", "Billing worker"), ("www", "Website"))
# (name, label, command, schedule settings)
CRONJOBS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("db-cleanup", "DB cleanup", "rake db:cleanup", {"cron": "0 3 * * *"}),
    ("reports", "Weekday reports", "python manage.py send_reports", {"cron": "30 6 * * 1-5"}),
    ("sitemap", "Sitemap", "npm run sitemap", {"interval_type": "daily", "daily_time": "02:00"}),
    ("cache-warm", "Cache warm-up", "bin/warm-cache", {"interval_type": "every_10_minutes"}),
    ("invoices", "Monthly invoices", "rake billing:invoices", {"cron": "0 0 1 * *"}),
    ("sessions", "Prune sessions", "python -m app.prune_sessions", {"interval_type": "hourly"}),
    ("export", "Backup export", "./scripts/export.sh", {"cron": "15 2 * * *"}),
    ("reindex", "Search reindex", "bundle exec rake search:reindex", {"cron": "*/30 * * * *"}),
    ("digest", "Digest", "node jobs/digest.js", {"interval_type": "daily", "daily_time": "08:00"}),
    ("queue-metrics", "Queue metrics", "python jobs/queue_metrics.py", {"cron": "*/5 * * * *"}),
)


def seed_app(sim: MigetSim, index: int, now: datetime) -> str:
    """Add the ``index``-th app and its healthy add-ons; return its uuid."""
    name, label = APP_NAMES[index] if index < len(APP_NAMES) else (f"app{index}", f"App {index}")
    app = sim.new_uuid()
    created = ts(now - timedelta(days=90 + index))
    sim.apps[app] = {"uuid": app, "name": sim.suffixed(name), "label": label}
    sim.apps[app] |= {"state": "running", "created_at": created, "updated_at": created}
    sim.cronjobs[app], sim.addons[app] = {}, {}
    kinds = [("postgres", "16"), ("valkey", "7.2")] + ([("storage", "")] if index == 0 else [])
    for kind, version in kinds:
        sim.add_addon(app, _addon_body(kind, version), now, seeded=True)
    return app


def _addon_body(kind: str, version: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "name": kind, "label": kind.capitalize()}
    if kind in ADDON_VERSIONS:
        body[ADDON_VERSIONS[kind][0]] = version
    else:
        body |= {"mount_point": "/data", "storage_access": "RWO", "disk_size": 5}
    return body


def seed_cronjob(
    sim: MigetSim, app: str, template: tuple[str, str, str, dict[str, str]], now: datetime
) -> None:
    """Add a cron job from ``template`` to ``app``, with a log of its last run unless pending."""
    name, label, command, schedule = template
    roll = sim.rng.random()
    state = sim.rng.choice(FAILING) if roll < 0.1 else "pending" if roll < 0.12 else "running"
    kind = "interval" if "interval_type" in schedule else "cron"
    settings = {"schedule_type": kind, **schedule, "command": command}
    if daily := schedule.get("daily_time"):
        hour, minute = daily.split(":")
        settings |= {"hour": str(int(hour)), "minute": str(int(minute))}
    created = now - timedelta(days=sim.rng.randint(1, 60))
    updated = now - timedelta(minutes=sim.rng.randint(1, 600))
    job = sim.new_cronjob(app, name, label, settings, state, created, updated)
    if state != "pending":
        sim.log_run(f"{app}/{job['uuid']}", command, state == "running", updated)
