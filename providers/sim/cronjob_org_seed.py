"""Realistic demo jobs for the cron-job.org simulator: titles, URLs, schedules and secrets.

Twelve job templates over four domains, ten schedules and five time zones; some jobs carry a
basic-auth password, a secret header or a password in the URL, so clients can be tested for
never showing them. Every draw comes from the simulator's ``rng``, in a fixed order, so a seed
always yields the same jobs; :meth:`~providers.sim.cronjob_org.CronJobOrgSim.seed_jobs` adds
them and their history.
"""

from __future__ import annotations

import random
from typing import Any

from providers.sim.cronjob_org_wire import ARRAYS, blank_job

SIM_JOB_PASSWORD = "hunter2-sim-password"  # basic-auth password of some seeded jobs
SIM_HEADER_SECRET = "sim-header-secret-7c1f"  # a custom header value of some seeded jobs
SIM_URL_PASSWORD = "sim-url-password"  # user:password inside one seeded job's URL

TEMPLATES = (
    ("Nightly database backup", "https://ops.{d}/hooks/backup"),
    ("Weekly sales report", "https://reports.{d}/api/weekly"),
    ("Status page monitor", "https://www.{d}/"),
    ("Warm product cache", "https://www.{d}/cache/warm"),
    ("Deploy preview cleanup", "https://deploy:" + SIM_URL_PASSWORD + "@hooks.{d}/cleanup"),
    ("Stripe webhook replay", "https://api.{d}/webhooks/stripe/replay"),
    ("Sitemap rebuild", "https://www.{d}/sitemap/rebuild"),
    ("Expire sessions", "https://app.{d}/internal/sessions/expire"),
    ("Sync CRM contacts", "https://crm.{d}/sync?token=sim-query-token"),
    ("Send digest emails", "https://mail.{d}/digest/send"),
    ("Invoice run", "https://billing.{d}/invoices/run"),
    ("Refresh exchange rates", "https://api.{d}/fx/refresh"),
)
DOMAINS = ("acme.io", "example.com", "shop.example.org", "widgets.dev")
EVERY = [-1]
SCHEDULES: tuple[tuple[list[int], ...], ...] = (  # minutes, hours, mdays, months, wdays
    ([0], [3], EVERY, EVERY, EVERY),
    ([30], [7], EVERY, EVERY, [1]),
    (EVERY, EVERY, EVERY, EVERY, EVERY),
    (list(range(0, 60, 15)), EVERY, EVERY, EVERY, EVERY),
    ([0], [2], [1], EVERY, EVERY),
    ([5], list(range(0, 24, 6)), EVERY, EVERY, EVERY),
    ([0], [4], EVERY, EVERY, [0]),
    (list(range(0, 60, 5)), list(range(8, 19)), EVERY, EVERY, [1, 2, 3, 4, 5]),
    ([45], [6, 18], EVERY, EVERY, EVERY),
    ([0], [0], [1], [1, 4, 7, 10], EVERY),
)
TIMEZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London")


def seeded_job(rng: random.Random, i: int, job_id: int) -> dict[str, Any]:
    """The ``i``-th demo job, with id ``job_id``; job 2 is a monitoring job."""
    title, url = TEMPLATES[i % len(TEMPLATES)]
    lap = i // len(TEMPLATES)
    job = blank_job(job_id)
    schedule = SCHEDULES[rng.randrange(len(SCHEDULES))]
    job.update(
        enabled=i % 7 != 5 and rng.random() > 0.05,
        title=f"{title} {lap + 1}" if lap else title,
        url=url.format(d=DOMAINS[(i + lap) % len(DOMAINS)]),
        type=1 if i == 2 else 0,
        requestMethod=1 if "webhook" in url or "hooks" in url else 0,
        saveResponses=i % 4 == 0,
    )
    job["schedule"] = {
        "timezone": TIMEZONES[rng.randrange(len(TIMEZONES))],
        "expiresAt": 0,
        **dict(zip(ARRAYS, map(list, schedule), strict=True)),
    }
    if i % 5 == 0:
        job["auth"] = {"enable": True, "user": "backup-bot", "password": SIM_JOB_PASSWORD}
    if i % 6 == 3:
        job["extendedData"]["headers"] = {"X-Api-Token": SIM_HEADER_SECRET}
    return job
