"""One poll scenario in its own process, so peak RSS is its own. Prints one JSON object.

python -m benchmarks.poll_worker --mode cronops --jobs-each 250 --slugs cronjob-org,cronhub
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.naive_poller import NaivePoller, unthrottled
from benchmarks.poll_world import World, world
from benchmarks.report import peak_rss_mb
from bot.alerts.notifier import Notifier
from bot.alerts.poll import Kind, Transition, read_details, scan
from bot.runtime import tune_gc

INTERVAL = 60.0  # seconds of simulated time between cycles
DJINN_PAGE = 25

Poll = Callable[[str], Awaitable[tuple[int, float]]]  # account -> (alerts, when they were decided)


async def scenario(
    mode: str, jobs_each: int, slugs: tuple[str, ...], cycles: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cronops-poll-") as scratch:
        async with world(Path(scratch), jobs_each=jobs_each, slugs=slugs) as w:
            rss_sims = peak_rss_mb()
            poll = _cronops(w) if mode == "cronops" else _naive(w)
            started = time.perf_counter()
            first = await _cycle(w, poll, inject=cycles == 0)
            first["seconds_total"] = time.perf_counter() - started
            rss_first = peak_rss_mb()
            runs = [await _cycle(w, poll, inject=True) for _ in range(cycles)] or [first]
            return {
                "mode": mode, "jobs_each": jobs_each, "slugs": list(slugs),
                "rss_sims_mb": rss_sims, "rss_first_mb": rss_first, "rss_peak_mb": peak_rss_mb(),
                "first": first,
                "cycles": runs,
            }  # fmt: skip


def _cronops(w: World) -> Poll:
    """As the monitor polls: scan (alerts decided and queued in the outbox, in the transaction
    that records them), then the history of what failed."""
    labels = {name: provider.label for name, provider in w.providers.items()}
    notifier = Notifier(w.store, AsyncWebClient(), "CBENCH0001", labels)

    async def poll(account: str) -> tuple[int, float]:
        provider, now = w.providers[account], w.clock()

        async def announce(transitions: Sequence[Transition]) -> None:
            await notifier.enqueue(transitions, now)

        found = await scan(provider, w.store, now, announce=announce)
        decided = time.perf_counter()
        transitions = found.transitions + await read_details(
            provider, w.store, found, now, announce=announce
        )
        return sum(t.kind in (Kind.OPENED, Kind.FAILED_AGAIN) for t in transitions), decided

    return poll


def _naive(w: World) -> Poll:
    naive = NaivePoller()
    for provider in w.providers.values():
        unthrottled(provider)

    async def poll(account: str) -> tuple[int, float]:
        alerts = await naive.poll(w.providers[account])
        return alerts, time.perf_counter()  # it decides once it has read every history

    return poll


async def _cycle(w: World, poll: Poll, *, inject: bool) -> dict[str, Any]:
    """Advance the clock, make 1% fail, then poll every account at once (as the scheduler)."""
    w.clock.tick(INTERVAL)
    injected = {a: (w.fail_some(a) if inject else []) for a in w.providers}
    before = w.requests()

    async def timed(account: str) -> tuple[int, float, float]:
        began = time.perf_counter()
        alerts, decided = await poll(account)
        return alerts, decided - began, time.perf_counter() - began

    began = time.perf_counter()
    results = await asyncio.gather(*(timed(a) for a in w.providers))
    wall = time.perf_counter() - began
    after = w.requests()
    accounts = {}
    for account, (alerts, decided, seconds) in zip(w.providers, results, strict=True):
        accounts[account] = {
            "provider": w.provider_slug(account), "jobs": w.jobs(account),
            "requests": after[account] - before[account], "seconds": seconds,
            "decided": decided, "injected": len(injected[account]), "alerts": alerts,
            "list_requests": _list_requests(w, account),
        }  # fmt: skip
    decided_wall = max(decided for _, decided, _ in results)
    return {"wall": wall, "decided_wall": decided_wall, "accounts": accounts}


def _list_requests(w: World, account: str) -> int:
    """Requests the provider's API needs to list every job once (its pages)."""
    sim: Any = w.sim(account)
    slug = w.provider_slug(account)
    if slug == "cronhub":
        return 2  # schedulers and monitors are two endpoints
    if slug == "miget":
        return len(sim.apps)  # one list per app (the app list itself is read once per process)
    if slug == "djinn":
        return max(1, math.ceil(len(sim.crons) / DJINN_PAGE))
    return 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["cronops", "naive"], required=True)
    parser.add_argument("--jobs-each", type=int, required=True)
    parser.add_argument("--slugs", required=True)
    parser.add_argument(
        "--cycles", type=int, default=3, help="after the first; 0: measure the first (no alerts)"
    )
    args = parser.parse_args()
    tune_gc()  # as `cronops run` does; the baseline runs in the same kind of process
    slugs = tuple(args.slugs.split(","))
    result = asyncio.run(scenario(args.mode, args.jobs_each, slugs, args.cycles))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
