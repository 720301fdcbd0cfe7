"""Changes made through the bot, shared by commands and buttons: check, do, announce, audit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.chat.durations import humanize
from bot.slack.listeners.context import Reply
from bot.slack.render.jobs import change_text
from bot.slack.render.text import slack_date
from providers.base import Job
from providers.errors import ProviderError


async def _change(reply: Reply, action: str, job: Job, work: Callable[[], Awaitable[Job]]) -> Job:
    """Do a change; record it either way (who, what, when, result)."""
    try:
        changed = await work()
    except ProviderError as error:
        await reply.audit(action, job, ok=False, error=error.user_message)
        raise
    await reply.audit(action, changed)
    return changed


async def pause(reply: Reply, job: Job, duration: timedelta | None = None) -> Job:
    await reply.require_operator("pause")
    service, store, now = reply.deps.service, reply.deps.store, reply.deps.clock()
    paused = await _change(reply, "paused", job, lambda: service.pause(job))
    text = change_text(reply.user, "paused", paused)
    resume_id = None
    if store is not None and duration is not None:  # stored first: a failed post loses nothing
        text += f" for {humanize(duration)}; cronops resumes it {slack_date(now + duration)}"
        planned = await store.resumes.schedule(
            ref=paused.ref, account=paused.account, due_at=now + duration,
            requested_by=reply.user, channel=reply.channel or "", now=now,
        )  # fmt: skip
        resume_id = planned.id
    elif store is not None:
        await store.resumes.cancel(paused.ref, now)
    ts = await reply.announce(text)
    if resume_id is not None and ts is not None:
        await store.resumes.attach_message(resume_id, ts)
    return paused


async def resume(reply: Reply, job: Job) -> Job:
    await reply.require_operator("resume")
    service, store = reply.deps.service, reply.deps.store
    resumed = await _change(reply, "resumed", job, lambda: service.resume(job))
    if store is not None:
        await store.resumes.cancel(resumed.ref, reply.deps.clock())
    await reply.announce(change_text(reply.user, "resumed", resumed))
    return resumed


async def delete(reply: Reply, job: Job) -> None:
    await reply.require_operator("delete")

    async def work() -> Job:
        await reply.deps.service.delete(job)
        return job

    await _change(reply, "deleted", job, work)
    await reply.announce(change_text(reply.user, "deleted", job))
