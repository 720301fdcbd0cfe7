"""Poll cost and scale: cronops' incremental poller vs two baselines, a poller that reads only
the list's last status and one that reads every job's history every cycle.

Each scenario runs in its own process (``benchmarks.poll_worker``) so its peak RSS is its own.
Up to 10,000 jobs the simulators are in-process (``httpx.ASGITransport``), so RSS includes
them; at 100,000 jobs they run in a process of their own, on loopback.
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
BIG_JOBS, BIG_ACCOUNTS = 100_000, 20  # spread evenly over the four providers
BIG_DECIDED_TARGET, BIG_WHOLE_TARGET, BIG_RSS_TARGET = 3.0, 10.0, 250.0
BLIPS = 3  # per account: jobs that fail and succeed again between two polls (1,000 jobs)
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

    def blip(self, slug: str | None, key: str) -> int:
        """Summed over the blip cycle's accounts (of ``slug``, or all)."""
        return sum(
            a[key] for c in self.data["blips"] for a in c["accounts"].values()
            if slug is None or a["provider"] == slug
        )  # fmt: skip

    @property
    def worst_decided(self) -> float:
        return max(float(c["decided_wall"]) for c in self.cycles)

    @property
    def worst_wall(self) -> float:
        return max(float(c["wall"]) for c in self.cycles)


@dataclass
class Runs:
    """Every scenario of one run."""

    ours: dict[int, Scenario]
    naive: dict[int, Scenario]
    listed: dict[int, Scenario]
    three: Scenario
    big: Scenario
    big_listed: Scenario


def run() -> Section:
    ours: dict[int, Scenario] = {}
    naive: dict[int, Scenario] = {}
    listed: dict[int, Scenario] = {}
    for scale in SCALES:
        # At 10,000 jobs the baseline's cycle takes seconds: its first cycle only (every cycle
        # is the same work), whose alerts need a previous cycle and are not counted.
        many = scale > 1_000
        blips = BLIPS if scale == 1_000 else 0
        each = scale // len(ALL)
        ours[scale] = _worker("cronops", each, ALL, 3, blips=blips)
        listed[scale] = _worker("listonly", each, ALL, 3, blips=blips)
        naive[scale] = _worker("naive", each, ALL, 0 if many else 3, blips=blips)
    three = _worker("cronops", -(-THREE_JOBS // len(THREE)), THREE, 3)
    per = BIG_ACCOUNTS // len(ALL)
    big_each = BIG_JOBS // BIG_ACCOUNTS
    big = _worker("cronops", big_each, ALL, 2, accounts_each=per)
    big_listed = _worker("listonly", big_each, ALL, 2, accounts_each=per)
    return _section(Runs(ours, naive, listed, three, big, big_listed))


def _worker(
    mode: str, jobs_each: int, slugs: tuple[str, ...], cycles: int, *, blips: int = 0,
    accounts_each: int = 1,
) -> Scenario:  # fmt: skip
    print(f"  poll: {mode}, {accounts_each} × {jobs_each} jobs on each of {', '.join(slugs)}",
          file=sys.stderr)  # fmt: skip
    args = [sys.executable, "-m", "benchmarks.poll_worker", "--mode", mode, "--jobs-each",
            str(jobs_each), "--slugs", ",".join(slugs), "--cycles", str(cycles),
            "--blips", str(blips), "--accounts-each", str(accounts_each)]  # fmt: skip
    if accounts_each > 1:
        args.append("--apart")  # the simulators of 100,000 jobs in a process of their own
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:])} failed:\n{done.stderr[-3000:]}")
    return Scenario(json.loads(done.stdout))


def _section(r: Runs) -> Section:
    section = Section(
        "poll", "Poll cost and scale",
        "Simulated accounts, one per provider, with 100, 1,000 and 10,000 jobs spread evenly "
        "over the four providers, and 100,000 jobs over 20 accounts (5 per provider, 5,000 "
        "jobs each); before each cycle 1% of each account's jobs (at least one), picked among "
        "healthy ones, fail. A cycle polls every account at once, as the scheduler does, each "
        "account as the monitor does: `bot.alerts.poll.scan` decides the alerts from the list "
        "(the bot sends them at this point; at most `SCANS_AT_ONCE` = 4 accounts' lists at a "
        "time, as `bot.alerts.cycle.Monitor`), then `bot.alerts.poll.read_details` reads the "
        "history of the newly failed jobs (SQLite store; cron-job.org's client keeps its limit "
        "of 5 requests/s per API method). Figures are per cycle, averaged over 3 cycles after "
        "the first poll (2 at 100,000 jobs). Up to 10,000 jobs the simulators run in the "
        "measured process (RSS includes them); at 100,000 in a process of their own, on "
        "loopback. Two baselines "
        "(`benchmarks/naive_poller.py`), measured in the same run: **list-only** reads the job "
        "list and alerts when a job's last status turns failed; **every-history** reads the "
        "list, then every job's history, job after job, and alerts on any new failed run — "
        "without cron-job.org's 5 requests/s client limit, which favours it. The every-history "
        "baseline is measured for one cycle (its first, alerts not counted) at 10,000 jobs "
        "(every cycle is the same work) and not run at 100,000: one cycle is 50,000 requests, "
        "minutes; its requests there are counted from the lists (1 per job with a history, "
        "plus the pages).",
    )  # fmt: skip
    _requests_table(section, r)
    _timing_table(section, r)
    _three_table(section, r.three)
    _misses_table(section, r)
    _big_tables(section, r)
    section.notes.append(
        "The history reads after the alerts are paced by cron-job.org's own limit of 5 "
        "requests/s per method (per account): 50 newly failed jobs in one account take about "
        "9 s to read however fast cronops is. The alerts go out before them; the reads then add "
        "the HTTP status, the message, and failures between two polls (updating the alert)."
    )
    _targets(section, r)
    return section


def _requests_table(section: Section, r: Runs) -> None:
    rows = []
    for scale in SCALES:
        for slug in ALL:
            got = r.ours[scale].per_provider(slug, "requests")
            base = r.naive[scale].per_provider(slug, "requests")
            expected = r.ours[scale].expected(slug) if slug != "djinn" else None
            rows.append([
                f"{scale:,}", LABELS[slug], f"{got:.0f}",
                f"{expected:.0f}" if expected is not None else "(builds of moved crons)",
                f"{r.listed[scale].per_provider(slug, 'requests'):.0f}",
                f"{base:.0f}", ratio(base, got),
            ])  # fmt: skip
    section.table(
        ["jobs", "provider", "cronops requests", "target: pages + newly failed",
         "list-only requests", "every-history requests", "every-history / cronops"], rows,
    )  # fmt: skip


def _timing_table(section: Section, r: Runs) -> None:
    rows = []
    for scale in SCALES:
        o, n, lo = r.ours[scale], r.naive[scale], r.listed[scale]
        counted = len(n.cycles) > 0 and scale <= 1_000
        rows.append([
            f"{scale:,}", secs(o.decided), secs(o.wall), secs(lo.decided), secs(n.wall),
            ratio(n.wall, o.decided),
            f"{o.data['rss_peak_mb']:.0f} MB ({o.data['rss_sims_mb']:.0f} after seeding)",
            f"{lo.data['rss_peak_mb']:.0f} MB", f"{n.data['rss_peak_mb']:.0f} MB",
            f"{o.total('caught')}/{o.total('injected')}",
            f"{lo.total('caught')}/{lo.total('injected')}",
            f"{n.total('caught')}/{n.total('injected')}" if counted else "not counted (1 cycle)",
            secs(o.data["first"]["seconds_total"]),
        ])  # fmt: skip
    section.table(
        ["jobs", "cronops: alerts decided", "cronops: whole cycle", "list-only: alerts decided",
         "every-history: alerts decided (= its cycle)", "every-history / cronops (decided)",
         "cronops peak RSS", "list-only peak RSS", "every-history peak RSS",
         "cronops alerted / failed", "list-only alerted / failed",
         "every-history alerted / failed", "cronops first poll"], rows,
    )  # fmt: skip


def _three_table(section: Section, three: Scenario) -> None:
    rows = [[LABELS[slug], f"{three.per_provider(slug, 'jobs'):,.0f}",
             f"{three.per_provider(slug, 'requests'):.0f}",
             f"{three.per_provider(slug, 'injected'):.0f}",
             secs(three.per_provider(slug, "decided")), secs(three.per_provider(slug, "seconds"))]
            for slug in THREE]  # fmt: skip
    rows.append(["cycle (all three at once)", f"{sum(int(r[1].replace(',', '')) for r in rows):,}",
                 "", "", secs(three.decided), secs(three.wall)])  # fmt: skip
    section.table(["10,000 jobs on three providers", "jobs", "requests", "newly failed",
                   "alerts decided", "with the history of what failed"], rows)  # fmt: skip


def _misses_table(section: Section, r: Runs) -> None:
    """The blip cycle at 1,000 jobs: who alerts on what."""
    pollers = (r.ours[1_000], r.listed[1_000], r.naive[1_000])
    rows = []
    for slug in (*ALL, None):
        stay, blips = pollers[0].blip(slug, "injected"), pollers[0].blip(slug, "blips")
        rows.append([
            LABELS[slug] if slug else "all four",
            *(f"{p.blip(slug, 'caught')}/{stay}" for p in pollers),
            *(f"{p.blip(slug, 'blips_caught')}/{blips}" for p in pollers),
        ])  # fmt: skip
    section.table(
        ["1,000 jobs, one cycle", "failed and still failing: cronops",
         "list-only", "every-history",
         "failed, then succeeded before the next poll: cronops", "list-only",
         "every-history"], rows,
    )  # fmt: skip
    missed = {name: _missed(p) for name, p in zip(("cronops", "list-only", "every-history"),
                                                   pollers, strict=True)}  # fmt: skip
    total = _failures(pollers[0])
    section.headline("list-only misses", f"{missed['list-only']} of {total}")
    section.notes.append(
        f"What each misses (the table above: {BLIPS} jobs per account fail and then succeed "
        f"again between two polls, beside the 1% that fail and stay failed): list-only misses "
        f"{missed['list-only']} of {total} failures — every one that a success hid, and all of "
        f"Djinn CI's (its list has no results); every-history misses {missed['every-history']} "
        f"(Cronhub and Miget have no history to read: nobody sees those); cronops misses "
        f"{missed['cronops']}: on cron-job.org the list row shows the success and cronops reads "
        "history only for rows that show a failure, so a failure hidden between two polls is "
        "not seen; on Djinn CI it reads the builds of every cron that ran and alerts."
    )


def _failures(p: Scenario) -> int:
    return p.blip(None, "injected") + p.blip(None, "blips")


def _missed(p: Scenario) -> int:
    return _failures(p) - p.blip(None, "caught") - p.blip(None, "blips_caught")


def _big_tables(section: Section, r: Runs) -> None:
    big, lo = r.big, r.big_listed
    rows = []
    for slug in ALL:
        expected = f"{big.expected(slug):.0f}" if slug != "djinn" else "(builds of moved crons)"
        rows.append([
            LABELS[slug], f"{big.per_provider(slug, 'jobs'):,.0f}",
            f"{big.per_provider(slug, 'requests'):.0f}", expected,
            f"{big.per_provider(slug, 'injected'):.0f}",
            secs(big.per_provider(slug, "decided")), secs(big.per_provider(slug, "seconds")),
            f"{lo.per_provider(slug, 'requests'):.0f}", f"{_every_history(big, slug):,.0f}",
        ])  # fmt: skip
    section.table(
        ["100,000 jobs, 20 accounts: per account", "jobs", "cronops requests",
         "target: pages + newly failed", "newly failed", "alerts decided", "whole (with history)",
         "list-only requests", "every-history requests (counted, not run)"], rows,
    )  # fmt: skip
    every = sum(_every_history(big, slug) for slug in ALL) * BIG_ACCOUNTS / len(ALL)
    rows = [
        ["cronops", f"{big.requests(ALL) * BIG_ACCOUNTS / len(ALL):,.0f}", secs(big.decided),
         secs(big.wall), f"{big.data['rss_peak_mb']:.0f} MB",
         f"{big.total('caught')}/{big.total('injected')}", f"{len(big.cycles)}"],
        ["list-only", f"{lo.requests(ALL) * BIG_ACCOUNTS / len(ALL):,.0f}", secs(lo.decided),
         secs(lo.wall), f"{lo.data['rss_peak_mb']:.0f} MB",
         f"{lo.total('caught')}/{lo.total('injected')}", f"{len(lo.cycles)}"],
        ["every-history", f"{every:,.0f} (counted)", "not run", "not run", "", "", "0"],
    ]  # fmt: skip
    section.table(
        ["100,000 jobs, 20 accounts, all at once", "requests per cycle", "alerts decided",
         "whole cycle", "peak RSS (simulators apart)", "alerted / failed", "cycles measured"],
        rows,
    )  # fmt: skip


def _every_history(run: Scenario, slug: str) -> float:
    """What the every-history baseline would request per account: the pages, and one history
    per job where the provider has one."""
    pages = run.per_provider(slug, "list_requests")
    return pages + (run.per_provider(slug, "jobs") if slug in ("cronjob-org", "djinn") else 0)


def _targets(section: Section, r: Runs) -> None:
    exact = all(
        round(run.per_provider(slug, "requests")) == round(run.expected(slug))
        for run in [*r.ours.values(), r.three, r.big]
        for slug in THREE
    )
    section.target(
        "cron-job.org, Cronhub, Miget: requests per cycle = pages + 1 per newly failed job",
        "equal at every scale (100,000 jobs too)" if exact else "differs (see tables)", exact,
    )  # fmt: skip
    fewer = r.naive[1_000].requests(THREE) / max(r.ours[1_000].requests(THREE), 1)
    section.target(
        f"≥ {FEWER_TARGET:.0f}× fewer requests than the every-history baseline at 1,000 jobs "
        "(those three)",
        f"{fewer:.1f}× ({r.naive[1_000].requests(THREE):.0f} vs "
        f"{r.ours[1_000].requests(THREE):.0f})",
        fewer >= FEWER_TARGET,
    )  # fmt: skip
    section.target(
        f"{THREE_JOBS:,} jobs on those three providers: cycle ≤ {secs(CYCLE_TARGET)} "
        "(until every alert is decided)",
        f"{secs(r.three.decided)} (worst of 3: {secs(r.three.worst_decided)})",
        r.three.worst_decided <= CYCLE_TARGET,
    )  # fmt: skip
    peak = max(s.data["rss_peak_mb"] for s in [*r.ours.values(), r.three])
    section.target(
        f"peak RSS ≤ {RSS_TARGET:.0f} MB up to 10,000 jobs (process incl. in-process "
        "simulators)",
        f"{peak:.1f} MB", peak <= RSS_TARGET,
    )  # fmt: skip
    big = r.big
    section.target(
        f"{BIG_JOBS:,} jobs, {BIG_ACCOUNTS} accounts: alerts decided ≤ "
        f"{secs(BIG_DECIDED_TARGET)}",
        f"{secs(big.decided)} (worst of {len(big.cycles)}: {secs(big.worst_decided)})",
        big.worst_decided <= BIG_DECIDED_TARGET,
    )  # fmt: skip
    section.target(
        f"{BIG_JOBS:,} jobs, {BIG_ACCOUNTS} accounts: whole cycle (history reads of the newly "
        f"failed included) ≤ {secs(BIG_WHOLE_TARGET)}",
        f"{secs(big.wall)} (worst of {len(big.cycles)}: {secs(big.worst_wall)})",
        big.worst_wall <= BIG_WHOLE_TARGET,
    )  # fmt: skip
    rss = big.data["rss_peak_mb"]
    section.target(
        f"{BIG_JOBS:,} jobs, {BIG_ACCOUNTS} accounts: peak RSS ≤ {BIG_RSS_TARGET:.0f} MB "
        "(the poller's process; simulators apart)",
        f"{rss:.1f} MB", rss <= BIG_RSS_TARGET,
    )  # fmt: skip
    section.headline("100k alerts decided", secs(big.decided))
    section.headline("100k whole cycle", secs(big.wall))
    section.headline("100k peak RSS", f"{rss:.0f} MB")
    djinn = r.ours[1_000]
    section.notes.append(
        f"Djinn CI (reported apart): its cron list has no results, so each cron whose last run "
        f"moved (or whose last build is still running) costs a builds request: "
        f"{djinn.per_provider('djinn', 'requests'):.0f} requests per cycle at 1,000 jobs "
        f"({djinn.per_provider('djinn', 'list_requests'):.0f} list pages) vs "
        f"{r.naive[1_000].per_provider('djinn', 'requests'):.0f} for every-history."
    )
    section.notes.append(
        "Cronhub and Miget have no history API: every-history costs what cronops and list-only "
        "cost (1×); Cronhub's list is two endpoints (schedulers, monitors), Miget's one per app "
        "(3 apps; the app list is read once per process)."
    )
