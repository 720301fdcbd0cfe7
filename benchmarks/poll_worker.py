"""One poll scenario in its own process, so peak RSS is its own. Prints one JSON object.

python -m benchmarks.poll_worker --mode cronops --jobs-each 250 --slugs cronjob-org,cronhub

Modes: ``cronops`` (as the monitor polls), ``naive`` (every job's history every cycle) and
``listonly`` (the list's last status), both in :mod:`benchmarks.naive_poller`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.naive_poller import ListOnlyPoller, NaivePoller, unthrottled
from benchmarks.poll_world import World, world
from benchmarks.report import peak_rss_mb
from bot.alerts.cycle import SCANS_AT_ONCE
from bot.alerts.notifier import Notifier
from bot.alerts.poll import Kind, Transition, read_details, scan
from bot.runtime import tune_gc

INTERVAL = 60.0  # seconds of simulated time between cycles
ALERTS = (Kind.OPENED, Kind.FAILED_AGAIN)  # what posts or updates an alert for a failure

#: account -> (the jobs it alerts on, when its alerts were decided)
Poll = Callable[[str], Awaitable[tuple[set[str], float]]]


async def scenario(
    mode: str, jobs_each: int, slugs: tuple[str, ...], cycles: int, *, accounts_each: int = 1,
    blips: int = 0, apart: bool = False,
) -> dict[str, Any]:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cronops-poll-") as scratch:
        async with world(
            Path(scratch), jobs_each=jobs_each, slugs=slugs, accounts_each=accounts_each,
            apart=apart,
        ) as w:  # fmt: skip
            rss_sims = peak_rss_mb()
            poll = {"cronops": _cronops, "naive": _naive, "listonly": _listonly}[mode](w)
            started = time.perf_counter()
            first = await _cycle(w, poll, inject=cycles == 0)
            first["seconds_total"] = time.perf_counter() - started
            rss_first = peak_rss_mb()
            runs = [await _cycle(w, poll, inject=True) for _ in range(cycles)] or [first]
            # failures that stay, and failures that a success hides before the next poll
            blipped = [await _cycle(w, poll, inject=True, blips=blips)] if blips else []
            return {
                "mode": mode, "jobs_each": jobs_each, "slugs": list(slugs),
                "accounts_each": accounts_each, "apart": apart,
                "rss_sims_mb": rss_sims, "rss_first_mb": rss_first, "rss_peak_mb": peak_rss_mb(),
                "first": first,
                "cycles": runs,
                "blips": blipped,
            }  # fmt: skip


def _cronops(w: World) -> Poll:
    """As the monitor polls: scan (alerts decided and queued in the outbox, in the transaction
    that records them; ``SCANS_AT_ONCE`` accounts at a time), then the history of what failed."""
    labels = {name: provider.label for name, provider in w.providers.items()}
    notifier = Notifier(w.store, "CBENCH0001", labels)
    scans = asyncio.Semaphore(SCANS_AT_ONCE)  # as the monitor: a few accounts' lists at once

    async def poll(account: str) -> tuple[set[str], float]:
        provider, now = w.providers[account], w.clock()

        async def announce(transitions: Sequence[Transition]) -> None:
            await notifier.enqueue(transitions, now)

        async with scans:
            found = await scan(provider, w.store, now, announce=announce)
        decided = time.perf_counter()
        transitions = found.transitions + await read_details(
            provider, w.store, found, now, announce=announce
        )
        alerted = {t.job.id for t in transitions if t.job and t.kind in ALERTS}
        return alerted, decided

    return poll


def _naive(w: World) -> Poll:
    naive = NaivePoller()
    for provider in w.providers.values():
        unthrottled(provider)

    async def poll(account: str) -> tuple[set[str], float]:
        alerted = await naive.poll(w.providers[account])
        return alerted, time.perf_counter()  # it decides once it has read every history

    return poll


def _listonly(w: World) -> Poll:
    lister = ListOnlyPoller()

    async def poll(account: str) -> tuple[set[str], float]:
        alerted = await lister.poll(w.providers[account])
        return alerted, time.perf_counter()  # it decides from the list alone

    return poll


async def _cycle(w: World, poll: Poll, *, inject: bool, blips: int = 0) -> dict[str, Any]:
    """Advance the clock, make 1% fail (and ``blips`` jobs fail and succeed again), then poll
    every account at once (as the scheduler)."""
    await w.sims.tick(INTERVAL)
    injected = await w.sims.fail() if inject else {a: [] for a in w.providers}
    blipped = await w.sims.blip(blips)
    before = await w.sims.counts()

    async def timed(account: str) -> tuple[set[str], float, float]:
        began = time.perf_counter()
        alerts, decided = await poll(account)
        return alerts, decided - began, time.perf_counter() - began

    began = time.perf_counter()
    results = await asyncio.gather(*(timed(a) for a in w.providers))
    wall = time.perf_counter() - began
    after = await w.sims.counts()
    accounts = {}
    for account, (alerts, decided, seconds) in zip(w.providers, results, strict=True):
        accounts[account] = {
            "provider": w.provider_slug(account), "jobs": after[account]["jobs"],
            "requests": after[account]["requests"] - before[account]["requests"],
            "seconds": seconds, "decided": decided, "injected": len(injected[account]),
            "alerts": len(alerts), "list_requests": after[account]["pages"],
            "caught": len(alerts & set(injected[account])),
            "blips": len(blipped[account]), "blips_caught": len(alerts & set(blipped[account])),
        }  # fmt: skip
    decided_wall = max(decided for _, decided, _ in results)
    return {"wall": wall, "decided_wall": decided_wall, "accounts": accounts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["cronops", "naive", "listonly"], required=True)
    parser.add_argument("--jobs-each", type=int, required=True)
    parser.add_argument("--slugs", required=True)
    parser.add_argument(
        "--cycles", type=int, default=3, help="after the first; 0: measure the first (no alerts)"
    )
    parser.add_argument("--accounts-each", type=int, default=1, help="accounts per provider")
    parser.add_argument(
        "--blips", type=int, default=0,
        help="then one more cycle in which this many jobs per account fail and succeed again",
    )  # fmt: skip
    parser.add_argument(
        "--apart", action="store_true", help="the simulators in a process of their own"
    )
    args = parser.parse_args()
    tune_gc()  # as `cronops run` does; the baselines run in the same kind of process
    slugs = tuple(args.slugs.split(","))
    run = scenario(args.mode, args.jobs_each, slugs, args.cycles,
                   accounts_each=args.accounts_each, blips=args.blips,
                   apart=args.apart)  # fmt: skip
    result = asyncio.run(run)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
