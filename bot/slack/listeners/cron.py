"""`/cron`: parse the text, ack at once, then do the work and answer by response_url."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, cast, get_args

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.owners import lease_name
from bot.chat import grammar as cmds
from bot.chat.grammar import ParseError, parse
from bot.chat.service import Listing, StatusFilter, filter_jobs, with_polled_results
from bot.slack.deps import Deps, RenderKey
from bot.slack.listeners import alerts, changes
from bot.slack.listeners.context import Registrar, Reply, guarded
from bot.slack.listeners.modals import open_addon_modal, open_create_modal, open_edit_modal
from bot.slack.render import messages, problems, status
from bot.slack.render.ids import PageValue
from bot.slack.render.jobs import (
    card_text,
    delete_confirm,
    delete_text,
    history_blocks,
    history_text,
    job_card,
)
from bot.slack.render.lists import job_list
from bot.slack.render.status import AccountStatus, status_blocks


def register(app: Registrar, deps: Deps) -> None:
    async def on_cron(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await handle(deps, ack, command, respond, client)

    app.command("/cron")(on_cron)


async def handle(
    deps: Deps, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:  # fmt: skip
    try:
        parsed = parse(command.get("text", ""), deps.service.accounts)
    except ParseError as error:
        text = problems.parse_problem(error.message, error.usage)
        await ack(text=text, blocks=messages.error(text), response_type="ephemeral")
        return
    if isinstance(parsed, cmds.Help):
        await ack(blocks=help_for(parsed), text="How to use /cron", response_type="ephemeral")
        return
    await ack()
    reply = Reply(deps, command["user_id"], command.get("channel_id"), client, respond)
    name = type(parsed).__name__.lower()
    with deps.metrics.command_seconds.labels(name).time():
        await guarded(reply, run(reply, parsed, command.get("trigger_id", "")))


def help_for(parsed: cmds.Help) -> list[Any]:
    if parsed.topic and parsed.topic in cmds.USAGE:
        return messages.help_blocks([cmds.USAGE[parsed.topic]], title=f"/cron {parsed.topic}")
    return messages.help_blocks(cmds.HELP_TEXT.splitlines())


async def run(reply: Reply, parsed: cmds.Command, trigger_id: str) -> None:
    service, now = reply.deps.service, reply.deps.clock()
    match parsed:
        case cmds.ListJobs(account=account, status=status, text=text):
            page = PageValue(account=account, status=status, text=text)
            await send_list(reply, page)
        case cmds.Show(ref=ref):
            job = await service.show(await service.resolve(ref))
            await reply.ephemeral(card_text(job), job_card(job, now=now))
        case cmds.History(ref=ref, limit=limit):
            job = await service.resolve(ref)
            runs = await service.history(job, limit)
            await reply.ephemeral(history_text(job), history_blocks(job, runs, now=now))
        case cmds.Pause(ref=ref, duration=duration):
            await changes.pause(reply, await service.resolve(ref), duration)
        case cmds.Resume(ref=ref):
            await changes.resume(reply, await service.resolve(ref))
        case cmds.Delete(ref=ref):
            await reply.require_operator("delete")
            job = await service.resolve(ref)
            await reply.ephemeral(delete_text(job), delete_confirm(job))
        case cmds.Create(account=account):
            await open_create_modal(reply, account, trigger_id)
        case cmds.Edit(ref=ref):
            await open_edit_modal(reply, ref, trigger_id)
        case cmds.AddonCreate(account=account):
            await open_addon_modal(reply, account, trigger_id)
        case cmds.Status():
            await send_status(reply)
        case _:
            await alerts.run(reply, parsed)


async def send_list(reply: Reply, page: PageValue, *, replace: bool = False) -> None:
    deps = reply.deps
    listing = await deps.service.listing(page.account)
    now = deps.clock()
    # Everyone asking for the same page of the same listing in the same minute gets the same
    # answer, rendered (and turned into JSON-ready blocks) once: the first asker starts the
    # rendering and the others await it, however many arrive while it runs.
    key = (listing.stamp, page.dump(), now.replace(second=0, microsecond=0))
    rendering = deps.rendered.get(key) if listing.stamp else None
    if rendering is None:
        rendering = asyncio.ensure_future(_render_list(deps, listing, page, now))
        if listing.stamp:
            if len(deps.rendered) >= RENDERED_KEPT:
                deps.rendered.clear()
            deps.rendered[key] = rendering
            rendering.add_done_callback(lambda done: _forget_failed(deps, key, done))
    text, rendered = await asyncio.shield(rendering)
    if replace:
        await reply.replace(text, rendered)
    else:
        await reply.ephemeral(text, rendered)


async def _render_list(
    deps: Deps, listing: Listing, page: PageValue, now: datetime
) -> tuple[str, list[dict[str, Any]]]:
    known = await with_polled_results(deps.store, listing.jobs)
    jobs = filter_jobs(known, as_status(page.status), page.text)
    failures = [(f.account, f.message) for f in listing.failures]
    blocks = job_list(jobs, now=now, page=page, failures=failures, as_of=listing.as_of)
    return f"{len(jobs)} jobs", [block.to_dict() for block in blocks]


def _forget_failed(deps: Deps, key: RenderKey, rendering: asyncio.Future[Any]) -> None:
    failed = rendering.cancelled() or rendering.exception() is not None
    if failed and deps.rendered.get(key) is rendering:
        del deps.rendered[key]  # the next asker tries again


RENDERED_KEPT = 64  # list answers kept rendered


def as_status(value: str | None) -> StatusFilter | None:
    """A button value's status filter, if it is one we know."""
    for known in get_args(StatusFilter):
        if value == known:
            return cast(StatusFilter, known)
    return None


async def send_status(reply: Reply) -> None:
    service, store, now = reply.deps.service, reply.deps.store, reply.deps.clock()
    listing = await service.listing()
    failed = {f.account: f.message for f in listing.failures}
    leases = await store.leases.all()
    rows = []
    for account in service.accounts:
        provider = service.provider(account)
        used, limit = await provider.http.budget_state()
        polled = await store.accounts.state(account)
        every = polled.poll_interval_s if polled and polled.poll_interval_s else None
        every = every or reply.deps.alerts.poll_interval.total_seconds()
        lease = leases.get(lease_name(account))
        owner = lease.owner.rsplit(":", 1)[0] if lease and lease.expires_at > now else None
        rows.append(AccountStatus(
            account, provider.label, failed.get(account), used, limit,
            polled.last_poll_at if polled else None, timedelta(seconds=every), owner,
        ))  # fmt: skip
    await reply.ephemeral(status.TEXT, status_blocks(rows))
