"""`/cron pause REF 2h`: the bot resumes the job itself and says so in the pause's thread."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.resumes import run_due_resumes
from bot.slack.delivery import Delivery
from providers.clock import utcnow
from tests.conftest import CHANNEL, Workspace


def _job(workspace: Workspace) -> tuple[Any, int]:
    sim: Any = workspace.suite["cronjob-org"]
    return sim, next(i for i, j in sim.jobs.items() if j["enabled"] and j.get("type", 0) == 0)


async def _pause_for_two_hours(workspace: Workspace, job_id: int) -> str:
    await workspace.command(f"pause prod:{job_id} 2h")
    (announced,) = await workspace.fake.wait_for(
        "chat.postMessage", where=lambda c: c.body.get("channel") == CHANNEL
    )
    assert "for 2 h" in announced.body["text"]
    ts = str(workspace.fake.messages[CHANNEL][-1]["ts"])
    store = workspace.built.deps.store
    for _ in range(100):  # stored with the pause; its announcement is then sent
        pending = await store.resumes.pending(f"prod:{job_id}")
        thread = await store.outbox.sent_post(pending.message_key or "") if pending else None
        if thread is not None and thread[1] == ts:
            return ts
        await asyncio.sleep(0.02)
    raise AssertionError("the timed resume was not stored with its thread")


async def test_a_timed_pause_resumes_once_in_the_thread(workspace: Workspace) -> None:
    sim, job_id = _job(workspace)
    thread = await _pause_for_two_hours(workspace, job_id)
    deps, client = workspace.built.deps, _delivery(workspace)
    assert await run_due_resumes(deps.store, deps.service, client, utcnow()) == 0
    assert sim.jobs[job_id]["enabled"] is False
    later = utcnow() + timedelta(hours=2, minutes=1)
    assert await run_due_resumes(deps.store, deps.service, client, later) == 1
    assert sim.jobs[job_id]["enabled"] is True
    replies = [
        c for c in workspace.fake.of("chat.postMessage") if c.body.get("thread_ts") == thread
    ]
    assert len(replies) == 1
    assert "Resumed `prod:" in replies[0].body["text"]
    assert await run_due_resumes(deps.store, deps.service, client, later) == 0  # exactly once


async def test_a_failing_provider_delays_the_resume_without_losing_it(
    workspace: Workspace,
) -> None:
    sim, job_id = _job(workspace)
    await _pause_for_two_hours(workspace, job_id)
    deps, client = workspace.built.deps, _delivery(workspace)
    later = utcnow() + timedelta(hours=2, minutes=1)
    sim.fault = 500
    assert await run_due_resumes(deps.store, deps.service, client, later) == 0
    pending = await deps.store.resumes.pending(f"prod:{job_id}")
    assert pending is not None
    assert pending.attempts == 1
    sim.fault = None
    assert await run_due_resumes(deps.store, deps.service, client, later) == 0  # retry not due
    retry = later + timedelta(minutes=3)
    assert await run_due_resumes(deps.store, deps.service, client, retry) == 1
    assert sim.jobs[job_id]["enabled"] is True


async def test_a_manual_resume_cancels_the_timed_one(workspace: Workspace) -> None:
    _, job_id = _job(workspace)
    await _pause_for_two_hours(workspace, job_id)
    await workspace.command(f"resume prod:{job_id}")
    await workspace.fake.wait_for(
        "chat.postMessage", 2, where=lambda c: c.body.get("channel") == CHANNEL
    )
    deps = workspace.built.deps
    assert await deps.store.resumes.pending(f"prod:{job_id}") is None
    later = utcnow() + timedelta(hours=3)
    assert await run_due_resumes(deps.store, deps.service, _delivery(workspace), later) == 0


def _delivery(workspace: Workspace) -> Delivery:
    client = AsyncWebClient(token="xoxb-test", base_url=f"{workspace.fake.base_url}/api/")
    return Delivery(workspace.built.deps.store, client)


async def test_a_resume_cancelled_after_it_was_found_due_never_runs(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, job_id = _job(workspace)
    await _pause_for_two_hours(workspace, job_id)
    deps = workspace.built.deps
    later = utcnow() + timedelta(hours=2, minutes=1)
    found = await deps.store.resumes.due(later)

    async def found_before_the_cancel(*args: Any, **kwargs: Any) -> Any:
        await deps.store.resumes.cancel(f"prod:{job_id}", later)  # someone pauses it for good
        return found

    monkeypatch.setattr(deps.store.resumes, "due", found_before_the_cancel)
    assert await run_due_resumes(deps.store, deps.service, _delivery(workspace), later) == 0
    assert sim.jobs[job_id]["enabled"] is False  # the provider was never asked to resume


async def test_two_processes_resume_a_job_once(workspace: Workspace) -> None:
    sim, job_id = _job(workspace)
    await _pause_for_two_hours(workspace, job_id)
    deps = workspace.built.deps
    later = utcnow() + timedelta(hours=2, minutes=1)
    before = sim.requests[f"PATCH /jobs/{job_id}"]
    runs = await asyncio.gather(
        *(run_due_resumes(deps.store, deps.service, _delivery(workspace), later) for _ in range(3))
    )
    assert sorted(runs) == [0, 0, 1]
    assert sim.requests[f"PATCH /jobs/{job_id}"] == before + 1  # one resume at the provider
