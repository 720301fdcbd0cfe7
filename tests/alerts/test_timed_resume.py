"""`/cron pause REF 2h`: the bot resumes the job itself and says so in the pause's thread."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.alerts.resumes import run_due_resumes
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
    for _ in range(100):  # the listener attaches the thread right after posting
        pending = await workspace.built.deps.store.resumes.pending(f"prod:{job_id}")
        if pending is not None and pending.message_ts == ts:
            return ts
        await asyncio.sleep(0.02)
    raise AssertionError("the timed resume was not stored with its thread")


async def test_a_timed_pause_resumes_once_in_the_thread(workspace: Workspace) -> None:
    sim, job_id = _job(workspace)
    thread = await _pause_for_two_hours(workspace, job_id)
    deps, client = workspace.built.deps, _client(workspace)
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
    deps, client = workspace.built.deps, _client(workspace)
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
    assert await run_due_resumes(deps.store, deps.service, _client(workspace), later) == 0


def _client(workspace: Workspace) -> Any:
    from slack_sdk.web.async_client import AsyncWebClient

    return AsyncWebClient(token="xoxb-test", base_url=f"{workspace.fake.base_url}/api/")
