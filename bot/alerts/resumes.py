"""Timed resumes (`/cron pause REF 2h`): due ones are resumed and told in the pause's thread.

The resume is kept in the database, so a restart neither forgets nor repeats it. A due resume
is claimed first (compare-and-set), and only then is the provider called: a resume cancelled
before (a manual resume, a new pause) never runs, and of several processes only the claimant
runs it. Marking it done is compare-and-set too; the winner records it and queues the reply
in the pause's thread (a post in the channel if that thread was never posted), and the
outbox sends it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.chat.service import CronService, RefError
from bot.slack.delivery import Delivery
from bot.slack.render import changes, problems
from bot.store import Store
from bot.store.tables import Resume
from providers.errors import ProviderError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=2)
CLAIM = timedelta(minutes=2)  # a claimant that died frees the resume after this long
ACTOR = "cronops"


async def run_due_resumes(
    store: Store, service: CronService, delivery: Delivery, now: datetime
) -> int:
    """Resume every due job; return how many were resumed."""
    resumed, keys = 0, []
    for due in await store.resumes.due(now, max_attempts=MAX_ATTEMPTS):
        if not await store.resumes.claim(due.id, now, CLAIM):
            continue  # cancelled meanwhile, or another process has it
        try:
            job = await service.resume(await service.resolve(due.ref))
        except (ProviderError, RefError) as error:
            keys += await _failed(store, due, error, now)
            continue
        text = changes.timed_resume_text(job, now - due.created_at, due.requested_by)
        async with store.unit():
            if not await store.resumes.mark_done(due.id, now):
                continue
            await store.audit.record(
                at=now, user_id=ACTOR, action="resumed (timed)", ref=job.ref, detail=job.name
            )
            keys += await _tell(store, due, text, now)
        resumed += 1
    if keys:
        await delivery.deliver(now, keys=keys)
    return resumed


async def _failed(store: Store, due: Resume, error: Exception, now: datetime) -> list[str]:
    message = error.message if isinstance(error, RefError) else getattr(error, "user_message", "")
    permanent = isinstance(error, RefError) or getattr(error, "permanent", False)
    log.warning("timed resume of %s failed (attempt %d): %s", due.ref, due.attempts + 1, message)
    async with store.unit():
        await store.resumes.mark_failed(due.id, message, retry_at=now + RETRY_AFTER)
        if permanent or due.attempts + 1 >= MAX_ATTEMPTS:
            if isinstance(error, RefError):
                problem = problems.ref_problem(error)
            else:
                problem = problems.plain_problem(message)
            text = changes.timed_resume_failed_text(due.ref, problem)
            return await _tell(store, due, text, now, attempt=due.attempts + 1)
    return []


async def _tell(store: Store, due: Resume, text: str, now: datetime, attempt: int = 0) -> list[str]:
    """Queue ``text`` in the pause's thread, or in its channel if that was never posted."""
    if not due.channel:
        return []
    key = f"resume:{due.id}:{attempt}"
    thread = due.message_key if due.message_key else None
    if thread is not None and await store.outbox.sent_post(thread) is not None:
        await store.outbox.enqueue(
            key, "reply", due.channel, {"text": text}, now=now, target_key=thread
        )
    else:
        await store.outbox.enqueue(key, "post", due.channel, {"text": text}, now=now)
    return [key]
