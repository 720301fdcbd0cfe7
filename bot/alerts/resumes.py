"""Timed resumes (`/cron pause REF 2h`): due ones are resumed and announced in the pause's thread.

The resume is kept in the database, so a restart neither forgets nor repeats it: the provider
call comes first (resuming twice is harmless), then a compare-and-set marks it done, and only
the caller that won the mark posts the thread reply.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.service import CronService, RefError
from bot.slack.render import changes, problems
from bot.store import Store
from bot.store.tables import Resume
from providers.errors import ProviderError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=2)
ACTOR = "cronops"


async def run_due_resumes(
    store: Store, service: CronService, client: AsyncWebClient, now: datetime
) -> int:
    """Resume every due job; return how many were resumed."""
    resumed = 0
    for due in await store.resumes.due(now, max_attempts=MAX_ATTEMPTS):
        try:
            job = await service.resume(await service.resolve(due.ref))
        except (ProviderError, RefError) as error:
            await _failed(store, client, due, error, now)
            continue
        if await store.resumes.mark_done(due.id, now):
            resumed += 1
            text = changes.timed_resume_text(job, now - due.created_at, due.requested_by)
            await _post(client, due, text)
            await store.audit.record(
                at=now, user_id=ACTOR, action="resumed (timed)", ref=job.ref, detail=job.name
            )
    return resumed


async def _failed(
    store: Store, client: AsyncWebClient, due: Resume, error: Exception, now: datetime
) -> None:
    message = error.message if isinstance(error, RefError) else getattr(error, "user_message", "")
    permanent = isinstance(error, RefError) or getattr(error, "permanent", False)
    await store.resumes.mark_failed(due.id, message, retry_at=now + RETRY_AFTER)
    log.warning("timed resume of %s failed (attempt %d): %s", due.ref, due.attempts + 1, message)
    if permanent or due.attempts + 1 >= MAX_ATTEMPTS:
        if isinstance(error, RefError):
            problem = problems.ref_problem(error)
        else:
            problem = problems.plain_problem(message)
        await _post(client, due, changes.timed_resume_failed_text(due.ref, problem))


async def _post(client: AsyncWebClient, due: Resume, text: str) -> None:
    if not due.channel:
        return
    try:
        await client.chat_postMessage(
            channel=due.channel, thread_ts=due.message_ts, text=text,
            unfurl_links=False, unfurl_media=False,
        )  # fmt: skip
    except SlackApiError as error:
        log.warning("could not post the resume of %s: %s", due.ref, error.response.get("error"))
