"""Unknown list results filled from the poller's cursors, and nothing else touched."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.chat.service import with_polled_results
from bot.store import Store
from bot.store.tables import Cursor
from providers.base import Job, JobKind, RunResult

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
RAN = datetime(2026, 11, 30, 0, 2, tzinfo=UTC)


def _job(job_id: str, result: RunResult, account: str = "ci") -> Job:
    return Job(account=account, provider="djinn", kind=JobKind.CRON, id=job_id,
               name=f"cron {job_id}", last_result=result)  # fmt: skip


async def test_unknown_results_are_filled_and_known_ones_kept(tmp_path: Path) -> None:
    async with await Store.open(f"sqlite:///{tmp_path}/bot.db") as store:
        await store.cursors.save_many([
            Cursor("ci", "1", "41", RAN, "failed", 1, NOW),
            Cursor("ci", "2", None, None, "unknown", 0, NOW),  # nothing learnt: stays unknown
            Cursor("ci", "3", "40", RAN, "failed", 1, NOW),
        ])  # fmt: skip
        jobs = [
            _job("1", RunResult.UNKNOWN),
            _job("2", RunResult.UNKNOWN),
            _job("3", RunResult.OK),  # the list said so itself: the list wins
            _job("4", RunResult.UNKNOWN),  # never polled
        ]
        filled = await with_polled_results(store, jobs)
    assert [j.last_result for j in filled] == [
        RunResult.FAILED, RunResult.UNKNOWN, RunResult.OK, RunResult.UNKNOWN,
    ]  # fmt: skip
    assert filled[0].last_run == RAN
    assert [j.id for j in filled] == ["1", "2", "3", "4"]


async def test_without_a_store_the_jobs_are_as_listed() -> None:
    jobs = [_job("1", RunResult.UNKNOWN)]
    assert await with_polled_results(None, jobs) == jobs
