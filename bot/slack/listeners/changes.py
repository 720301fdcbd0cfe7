"""Changes made through the bot, shared by commands and buttons: check, do, record, tell.

A change is the provider call. What belongs to it — its audit entry, a timed resume (or the
cancelling of one) — is recorded right after, in one transaction with the messages that tell
of it (the announcement in the channel, the audit channel's post), which are queued in the
outbox. Those are sent afterwards, best effort: Slack refusing them never undoes or hides the
change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.chat.durations import humanize
from bot.slack.listeners.context import Reply
from bot.slack.render.changes import change_text
from bot.slack.render.text import slack_date
from providers.base import Job
from providers.errors import ProviderError


async def change(reply: Reply, action: str, job: Job, work: Callable[[], Awaitable[Job]]) -> Job:
    """Do a change at the provider; a refusal is recorded (who, what, why) and raised."""
    try:
        return await work()
    except ProviderError as error:
        await reply.record_failure(action, job, error.user_message)
        raise


async def pause(reply: Reply, job: Job, duration: timedelta | None = None) -> Job:
    await reply.require_operator("pause")
    service, store, now = reply.deps.service, reply.deps.store, reply.deps.clock()
    paused = await change(reply, "paused", job, lambda: service.pause(job))
    text = change_text(reply.user, "paused", paused)
    if duration is not None:
        text += f" for {humanize(duration)}; cronops resumes it {slack_date(now + duration)}"
    async with store.unit():
        effects = await reply.record("paused", paused, announce=text)
        if duration is not None:
            await store.resumes.schedule(
                ref=paused.ref, account=paused.account, due_at=now + duration,
                requested_by=reply.user, channel=reply.channel or "", now=now,
                message_key=effects.announcement[0] if effects.announcement else None,
            )  # fmt: skip
        else:
            await store.resumes.cancel(paused.ref, now)
    await reply.send(effects)
    return paused


async def resume(reply: Reply, job: Job) -> Job:
    await reply.require_operator("resume")
    service, store = reply.deps.service, reply.deps.store
    resumed = await change(reply, "resumed", job, lambda: service.resume(job))
    async with store.unit():
        effects = await reply.record(
            "resumed", resumed, announce=change_text(reply.user, "resumed", resumed)
        )
        await store.resumes.cancel(resumed.ref, reply.deps.clock())
    await reply.send(effects)
    return resumed


async def delete(reply: Reply, job: Job) -> None:
    await reply.require_operator("delete")

    async def work() -> Job:
        await reply.deps.service.delete(job)
        return job

    await change(reply, "deleted", job, work)
    async with reply.deps.store.unit():
        effects = await reply.record(
            "deleted", job, announce=change_text(reply.user, "deleted", job)
        )
        await reply.deps.store.resumes.cancel(job.ref, reply.deps.clock())
    await reply.send(effects)
