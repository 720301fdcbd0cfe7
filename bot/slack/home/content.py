"""What one person's Home shows, gathered from what the bot already knows.

Nothing here calls a provider: opening the Home must never spend an account's request budget
(cron-job.org's is 100 a day). Failing jobs, mutes, timed pauses, subscriptions and account
health come from the database; paused jobs from each account's last listing the service kept
(:meth:`bot.chat.service.CronService.known`), with its age; budgets from the ledger.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.alerts.notifier import incident_view
from bot.chat.service import CronService, Known
from bot.slack.deps import Deps
from bot.slack.home.members import ChannelMembers
from bot.slack.render import home as render
from bot.slack.render.alerts import IncidentView
from bot.store.tables import AccountState, Incident, Mute, Resume, Subscription
from providers.base import Capability


async def home_content(
    deps: Deps,
    members: ChannelMembers,
    user: str,
    now: datetime,
    *,
    fresh: bool,
    notice: tuple[str, datetime] | None = None,
) -> render.HomeContent:
    """``user``'s Home at ``now``; ``fresh``: they are looking, read their channels again if
    what is kept is old (see :mod:`bot.slack.home.members`)."""
    store, service = deps.store, deps.service
    incidents = await store.incidents.all_open()
    mutes = await store.mutes.all_active(now)
    resumes = await store.resumes.all_pending()
    known = {a: k for a in service.accounts if (k := service.known(a)) is not None}
    subscriptions = await store.subscriptions.all()
    every_channel, problem = False, None
    if subscriptions:
        membership = await members.of(user, now, fresh=fresh)
        if membership.channels is None:
            every_channel, problem = True, membership.problem
        else:
            subscriptions = [s for s in subscriptions if s.channel in membership.channels]
    paused, unlisted = _paused(known, resumes)
    return render.HomeContent(
        user=user,
        failing=[_failing(service, incident, mutes) for incident in incidents],
        paused=paused,
        resumes=unlisted,
        muted=_muted(mutes, incidents, known),
        subscriptions=[_subscription(s) for s in subscriptions],
        every_channel=every_channel,
        membership_problem=problem,
        alerts_channel=deps.alerts.channel,
        accounts=await _accounts(deps, known, await store.accounts.states()),
        notice=notice[0] if notice else None,
        notice_at=notice[1] if notice else None,
    )


def _failing(service: CronService, incident: Incident, mutes: Mapping[str, Mute]) -> IncidentView:
    provider = service.providers.get(incident.account)  # None: no longer configured
    can_pause = provider is not None and Capability.PAUSE in service.capabilities_of(
        incident.account, incident.job_id
    )
    label = provider.label if provider is not None else incident.account
    view = incident_view(incident, label, can_pause=can_pause)
    return dataclasses.replace(view, muted=view.muted or incident.ref in mutes)


def _paused(
    known: Mapping[str, Known], resumes: Sequence[Resume]
) -> tuple[list[render.PausedJob], list[render.TimedResume]]:
    """The paused jobs of the last listings, each with its timed resume if it has one; and the
    timed pauses of jobs no listing shows (not listed yet, or listed before the pause)."""
    timed = {resume.ref: resume for resume in resumes}
    paused = [
        render.PausedJob(job, *_when(timed.get(job.ref)))
        for listing in known.values()
        for job in listing.jobs
        if job.paused
    ]
    shown = {item.job.ref for item in paused}
    running = {
        job.ref: listing.at for listing in known.values() for job in listing.jobs if not job.paused
    }
    unlisted = [
        render.TimedResume(resume.ref, resume.due_at, resume.requested_by)
        for resume in resumes
        if resume.ref not in shown
        and not (resume.ref in running and running[resume.ref] > resume.created_at)
    ]
    return paused, unlisted


def _when(resume: Resume | None) -> tuple[datetime | None, str | None]:
    return (resume.due_at, resume.requested_by) if resume else (None, None)


def _muted(
    mutes: Mapping[str, Mute], incidents: Sequence[Incident], known: Mapping[str, Known]
) -> list[render.MutedJob]:
    names = {job.ref: job.name for listing in known.values() for job in listing.jobs}
    names.update({incident.ref: incident.job_name for incident in incidents})
    return [
        render.MutedJob(mute.ref, names.get(mute.ref), mute.until, mute.created_by)
        for mute in mutes.values()
    ]


def _subscription(subscription: Subscription) -> render.ChannelSubscription:
    return render.ChannelSubscription(
        subscription.channel, subscription.target, subscription.except_text,
        subscription.created_by,
    )  # fmt: skip


async def _accounts(
    deps: Deps, known: Mapping[str, Known], polled: Sequence[AccountState]
) -> list[render.AccountHealth]:
    states = {state.account: state for state in polled}
    lines = []
    for account, provider in deps.service.providers.items():
        used, limit = await provider.http.budget_state()
        state = states.get(account)
        paced = state.poll_interval_s if state else None  # as the poller last paced it
        every = paced or deps.alerts.poll_interval.total_seconds()
        listing = known.get(account)
        lines.append(
            render.AccountHealth(
                account=account,
                provider_label=provider.label,
                reachable=state.reachable if state else True,
                outage_since=state.outage_since if state else None,
                error=state.last_error if state else None,
                failed_polls=state.failed_polls if state else 0,
                used=used,
                limit=limit,
                last_poll=state.last_poll_at if state else None,
                every=timedelta(seconds=every),
                listed_at=listing.at if listing else None,
            )
        )
    return lines
