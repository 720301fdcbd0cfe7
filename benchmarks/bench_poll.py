"""Poll cost and scale: cronops' incremental poller vs fetching every job's history every cycle.

Each scenario runs in its own process (``benchmarks.poll_worker``) so its peak RSS is its own.
The simulators are in-process (``httpx.ASGITransport``), so RSS includes them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from statistics import mean
from typing import Any

from benchmarks.report import Section, ratio, secs

ALL = ("cronjob-org", "cronhub", "djinn", "miget")
THREE = ("cronjob-org", "cronhub", "miget")  # list with results: no per-job request
SCALES = (100, 1_000, 10_000)
THREE_JOBS = 10_000
RSS_TARGET = 150.0
CYCLE_TARGET = 1.0
FEWER_TARGET = 20.0
LABELS = {"cronjob-org": "cron-job.org", "cronhub": "Cronhub", "djinn": "Djinn CI",
          "miget": "Miget"}  # fmt: skip


@dataclass
class Scenario:
    """The measured cycles of one worker run, averaged."""

    data: dict[str, Any]

    @property
    def cycles(self) -> list[dict[str, Any]]:
        return list(self.data["cycles"])

    def per_provider(self, slug: str, key: str) -> float:
        values: list[float] = [
            a[key] for c in self.cycles for a in c["accounts"].values() if a["provider"] == slug
        ]
        return mean(values)

    def requests(self, slugs: tuple[str, ...]) -> float:
        return sum(self.per_provider(slug, "requests") for slug in slugs)

    def expected(self, slug: str) -> float:
        """1 per list page (+1 per newly failed job where the provider has history)."""
        history = slug == "cronjob-org"
        return self.per_provider(slug, "list_requests") + (
            self.per_provider(slug, "injected") if history else 0
        )

    @property
    def wall(self) -> float:
        """The whole cycle: every account's list, and the history of what failed."""
        return mean(float(c["wall"]) for c in self.cycles)

    @property
    def decided(self) -> float:
        """Until every account's alerts were decided (and, in the bot, sent)."""
        return mean(float(c.get("decided_wall", c["wall"])) for c in self.cycles)

    def total(self, key: str) -> int:
        return sum(a[key] for c in self.cycles for a in c["accounts"].values())


def run() -> Section:
    ours: dict[int, Scenario] = {}
    naive: dict[int, Scenario] = {}
    for scale in SCALES:
        # At 10,000 jobs the baseline's cycle takes tens of seconds: its first cycle only
        # (every cycle is the same work), whose alerts need a previous cycle and are not counted.
        big = scale > 1_000
        ours[scale] = _worker("cronops", scale // len(ALL), ALL, 3)
        naive[scale] = _worker("naive", scale // len(ALL), ALL, 0 if big else 3)
    three = _worker("cronops", -(-THREE_JOBS // len(THREE)), THREE, 3)
    return _section(ours, naive, three)


def _worker(mode: str, jobs_each: int, slugs: tuple[str, ...], cycles: int) -> Scenario:
    print(f"  poll: {mode}, {jobs_each} jobs on each of {', '.join(slugs)}", file=sys.stderr)
    args = [sys.executable, "-m", "benchmarks.poll_worker", "--mode", mode, "--jobs-each",
            str(jobs_each), "--slugs", ",".join(slugs), "--cycles", str(cycles)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:])} failed:\n{done.stderr[-3000:]}")
    return Scenario(json.loads(done.stdout))


def _section(ours: dict[int, Scenario], naive: dict[int, Scenario], three: Scenario) -> Section:
    section = Section(
        "poll", "Poll cost and scale",
        "Simulated accounts, one per provider, with 100, 1,000 and 10,000 jobs spread evenly "
        "over the four providers; before each cycle 1% of each provider's jobs (at least one), "
        "picked among healthy ones, fail. A cycle polls every account at once, as the "
        "scheduler does, each account as the monitor does: `bot.alerts.poll.scan` decides "
        "the alerts from the list (the bot sends them at this point), then "
        "`bot.alerts.poll.read_details` reads the history of the newly failed jobs (SQLite "
        "store). Figures are per cycle, averaged over 3 cycles after the first poll (for "
        "the baseline at 10,000 jobs, its first). Baseline (`benchmarks/naive_poller.py`): "
        "list, then every job's history, job after job, every cycle — without "
        "cron-job.org's 5 requests/s client limit, which favours it.",
    )  # fmt: skip
    rows = []
    for scale in SCALES:
        for slug in ALL:
            got = ours[scale].per_provider(slug, "requests")
            base = naive[scale].per_provider(slug, "requests")
            expected = ours[scale].expected(slug) if slug != "djinn" else None
            rows.append([
                f"{scale:,}", LABELS[slug], f"{got:.0f}",
                f"{expected:.0f}" if expected is not None else "(builds of moved crons)",
                f"{base:.0f}", ratio(base, got),
            ])  # fmt: skip
    section.table(
        ["jobs", "provider", "cronops requests", "target: pages + newly failed",
         "baseline requests", "fewer ×"], rows,
    )  # fmt: skip
    rows = []
    for scale in SCALES:
        o, n = ours[scale], naive[scale]
        rows.append([
            f"{scale:,}", secs(o.decided), secs(o.wall), secs(n.wall), ratio(n.wall, o.wall),
            f"{o.data['rss_peak_mb']:.0f} MB ({o.data['rss_sims_mb']:.0f} after seeding)",
            f"{n.data['rss_peak_mb']:.0f} MB", f"{o.total('alerts')}/{o.total('injected')}",
            f"{n.total('alerts')}/{n.total('injected')}" if len(n.cycles) > 0 and scale <= 1_000
            else "not counted (1 cycle)", secs(o.data["first"]["seconds_total"]),
        ])  # fmt: skip
    section.table(
        ["jobs", "cronops: alerts decided", "cronops: whole cycle", "baseline cycle",
         "baseline / cronops", "cronops peak RSS",
         "baseline peak RSS", "cronops alerts / failures", "baseline alerts / failures",
         "cronops first poll"], rows,
    )  # fmt: skip
    rows = [[LABELS[slug], f"{three.per_provider(slug, 'jobs'):,.0f}",
             f"{three.per_provider(slug, 'requests'):.0f}",
             f"{three.per_provider(slug, 'injected'):.0f}",
             secs(three.per_provider(slug, "decided")), secs(three.per_provider(slug, "seconds"))]
            for slug in THREE]  # fmt: skip
    rows.append(["cycle (all three at once)", f"{sum(int(r[1].replace(',', '')) for r in rows):,}",
                 "", "", secs(three.decided), secs(three.wall)])  # fmt: skip
    section.table(["10,000 jobs on three providers", "jobs", "requests", "newly failed",
                   "alerts decided", "with the history of what failed"], rows)  # fmt: skip
    section.notes.append(
        "The history reads after the alerts are paced by cron-job.org's own limit of 5 "
        "requests/s per method: 33 newly failed jobs take about 6.6 s to read however fast "
        "cronops is. The alerts go out before them; the reads then add the HTTP status, the "
        "message, and failures between two polls (updating the alert)."
    )
    _targets(section, ours, naive, three)
    return section


def _targets(
    section: Section, ours: dict[int, Scenario], naive: dict[int, Scenario], three: Scenario
) -> None:
    exact = all(
        round(run.per_provider(slug, "requests")) == round(run.expected(slug))
        for run in [*ours.values(), three]
        for slug in THREE
    )
    section.target(
        "cron-job.org, Cronhub, Miget: requests per cycle = pages + 1 per newly failed job",
        "equal at every scale" if exact else "differs (see table)", exact,
    )  # fmt: skip
    fewer = naive[1_000].requests(THREE) / max(ours[1_000].requests(THREE), 1)
    section.target(
        f"≥ {FEWER_TARGET:.0f}× fewer requests than the baseline at 1,000 jobs (those three)",
        f"{fewer:.1f}× ({naive[1_000].requests(THREE):.0f} vs {ours[1_000].requests(THREE):.0f})",
        fewer >= FEWER_TARGET,
    )
    worst = max(float(c["decided_wall"]) for c in three.cycles)
    section.target(
        f"{THREE_JOBS:,} jobs on those three providers: cycle ≤ {secs(CYCLE_TARGET)} "
        "(until every alert is decided)",
        f"{secs(three.decided)} (worst of 3: {secs(worst)})", worst <= CYCLE_TARGET,
    )  # fmt: skip
    peak = max(s.data["rss_peak_mb"] for s in [*ours.values(), three])
    section.target(
        f"peak RSS ≤ {RSS_TARGET:.0f} MB (process incl. in-process simulators)",
        f"{peak:.1f} MB",
        peak <= RSS_TARGET,
    )
    djinn = ours[1_000]
    section.notes.append(
        f"Djinn CI (reported apart): its cron list has no results, so each cron whose last run "
        f"moved (or whose last build is still running) costs a builds request: "
        f"{djinn.per_provider('djinn', 'requests'):.0f} requests per cycle at 1,000 jobs "
        f"({djinn.per_provider('djinn', 'list_requests'):.0f} list pages) vs "
        f"{naive[1_000].per_provider('djinn', 'requests'):.0f} for the baseline."
    )
    section.notes.append(
        "Cronhub and Miget have no history API: the baseline costs what cronops costs (1×); "
        "Cronhub's list is two endpoints (schedulers, monitors), Miget's one per app (3 apps; "
        "the app list is read once per process)."
    )
