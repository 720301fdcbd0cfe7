"""Alert routing and muting commands, and the buttons on alert messages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.notifier import incident_view
from bot.chat import grammar as cmds
from bot.chat.service import RefError
from bot.slack.deps import Deps
from bot.slack.listeners import changes
from bot.slack.listeners.context import Registrar, Reply, guarded
from bot.slack.render import alerts as render
from bot.slack.render.alerts import Route
from bot.slack.render.changes import paused_text
from bot.slack.render.conceal import ref_prefix
from bot.slack.render.ids import ActionId, IncidentValue
from bot.slack.render.jobs import history_blocks, history_text
from bot.store.tables import Subscription
from providers.base import Capability

log = logging.getLogger(__name__)

MUTE_BUTTON = timedelta(hours=1)


async def run(reply: Reply, parsed: cmds.Command) -> None:
    """The alert commands of `/cron` (the rest are in listeners.cron)."""
    match parsed:
        case cmds.Subscribe(target=target, except_text=except_text):
            await subscribe(reply, target or cmds.EVERYTHING, except_text or "")
        case cmds.Unsubscribe(target=target, except_text=except_text):
            await unsubscribe(reply, target or cmds.EVERYTHING, except_text or "")
        case cmds.Subscriptions():
            await list_subscriptions(reply)
        case cmds.Mute(ref=ref, duration=duration):
            await mute(reply, ref, duration)
        case cmds.Unmute(ref=ref):
            await unmute(reply, ref)


async def subscribe(reply: Reply, target: str, except_text: str = "") -> None:
    """Subscribe this channel; saved only once the bot has posted here (so it can post the
    alerts too), and audited. ``alerts.channel`` gets every alert either way.

    A ref is resolved first: a subscription holds the job's full ref (a prefix copied from a
    list becomes the whole id), so it takes that job alone, whatever it is renamed to.
    """
    channel = _channel(reply)
    store, now = reply.deps.store, reply.deps.clock()
    route = _route(reply, target, except_text)
    if route.kind == "job":
        job = await reply.deps.service.resolve(target)
        route = replace(route, target=job.ref)
    if _find(await store.subscriptions.all(channel), route):
        await reply.ephemeral(render.already_subscribed_text(channel, route))
        return
    try:
        await reply.client.chat_postMessage(
            channel=channel, text=render.subscribed_text(reply.user, channel, route),
            unfurl_links=False, unfurl_media=False,
        )  # fmt: skip
    except SlackApiError as error:
        code = error.response.get("error")
        log.info("cannot post in %s (%s): not subscribed", channel, code)
        await reply.ephemeral(render.cannot_post_text(channel, str(code)))
        return
    async with store.unit():
        added = await store.subscriptions.add(channel, route.target, reply.user, now, except_text)
        if added:
            effects = await reply.record("subscribed", _audited(channel, "to", route))
    if not added:  # subscribed meanwhile, by the same command sent twice: recorded once
        await reply.ephemeral(render.already_subscribed_text(channel, route))
        return
    await reply.send(effects)


async def unsubscribe(reply: Reply, target: str, except_text: str = "") -> None:
    """Remove the one subscription named as it was made (its ``--except`` text included); a
    job's ref may be typed as the prefix lists show."""
    channel = _channel(reply)
    store = reply.deps.store
    typed = _route(reply, target, except_text)
    subscriptions = await store.subscriptions.all(channel)
    found = _find(subscriptions, typed)
    removed = False
    if found is not None:
        async with store.unit():
            removed = await store.subscriptions.remove(channel, found.target, found.except_text)
            if removed:
                route = _view(reply, found)
                effects = await reply.record(
                    "unsubscribed", _audited(channel, "from", route),
                    announce=render.unsubscribed_text(reply.user, channel, route),
                )  # fmt: skip
    if not removed:
        near = [
            _view(reply, s) for s in subscriptions
            if _same_target(s, typed) and s.except_text.casefold() != except_text.casefold()
        ]  # fmt: skip
        await reply.ephemeral(render.not_subscribed_text(channel, typed, near))
        return
    await reply.send(effects)


async def list_subscriptions(reply: Reply) -> None:
    channel = _channel(reply)
    routes = [_view(reply, s) for s in await reply.deps.store.subscriptions.all(channel)]
    await reply.ephemeral("Subscriptions", render.subscriptions_list(channel, routes))


def _route(reply: Reply, target: str, except_text: str) -> Route:
    kind = cmds.target_kind(target, reply.deps.service.accounts)
    return Route(target, kind, except_text)


def _view(reply: Reply, subscription: Subscription) -> Route:
    return replace(
        _route(reply, subscription.target, subscription.except_text),
        created_by=subscription.created_by, created_at=subscription.created_at,
    )  # fmt: skip


def _find(subscriptions: Sequence[Subscription], route: Route) -> Subscription | None:
    """The subscription ``route`` names: same target (a job's also by its shown prefix) and
    the same ``--except`` text, in any letter case."""
    for subscription in subscriptions:
        if _same_target(subscription, route) and (
            subscription.except_text.casefold() == route.except_text.casefold()
        ):
            return subscription
    return None


def _same_target(subscription: Subscription, route: Route) -> bool:
    """The same target; a job's ref also as lists show it (a UUID's first 8 characters or
    more), never one id for another (``prod:42`` is not ``prod:421``)."""
    stored, typed = subscription.target.casefold(), route.target.casefold()
    if stored == typed:
        return True
    typed = typed.removesuffix("…")
    shown = ref_prefix(stored)  # the stored ref itself unless it ends in a UUID
    return route.kind == "job" and typed.startswith(shown) and stored.startswith(typed)


def _audited(channel: str, word: str, route: Route) -> str:
    """The audit entry's subject: ``C123 to prod``, ``C123 (except staging) to prod``."""
    leaving_out = f" (except {route.except_text})" if route.except_text else ""
    return f"{channel}{leaving_out} {word} {route.target}"


async def mute(reply: Reply, ref: str, duration: timedelta | None) -> None:
    await reply.require_operator("mute")
    job = await reply.deps.service.resolve(ref)
    store, now = reply.deps.store, reply.deps.clock()
    until = now + duration if duration else None
    async with store.unit():
        await store.mutes.set(job.ref, until, reply.user, now)
        effects = await reply.record(
            "muted", job, announce=render.muted_text(reply.user, job.ref, until)
        )
    await reply.send(effects)


async def unmute(reply: Reply, ref: str) -> None:
    await reply.require_operator("unmute")
    job = await reply.deps.service.resolve(ref)
    store = reply.deps.store
    async with store.unit():
        removed = await store.mutes.remove(job.ref)
        if removed:
            effects = await reply.record(
                "unmuted", job, announce=render.unmuted_text(reply.user, job.ref)
            )
    if not removed:
        await reply.ephemeral(render.not_muted_text(job.ref))
        return
    await reply.send(effects)


def _channel(reply: Reply) -> str:
    if not reply.channel:
        raise RefError("Run this in the channel that should receive the alerts.")
    return reply.channel


# -- buttons on alert messages ------------------------------------------------------------
Handler = Callable[[Reply, IncidentValue, dict[str, Any]], Awaitable[None]]


def register(app: Registrar, deps: Deps) -> None:
    handlers: dict[ActionId, Handler] = {
        ActionId.ALERT_ACK: acknowledge,
        ActionId.ALERT_PAUSE: pause,
        ActionId.ALERT_MUTE: mute_hour,
        ActionId.ALERT_HISTORY: history,
    }
    for action_id, handler in handlers.items():
        app.action(action_id.value)(_listener(deps, handler))


def _listener(deps: Deps, handler: Handler) -> Callable[..., Awaitable[None]]:
    async def listener(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:  # fmt: skip
        await ack()
        reply = Reply.to_action(deps, body, client, respond)
        await guarded(reply, handler(reply, IncidentValue.load(action["value"]), body))

    return listener


async def acknowledge(reply: Reply, value: IncidentValue, body: dict[str, Any]) -> None:
    """Record who acknowledged (compare-and-set), then show it: no provider call, so an
    unreachable provider never leaves an acknowledgement recorded but not shown."""
    store, now, service = reply.deps.store, reply.deps.clock(), reply.deps.service
    async with store.unit():
        incident = await store.incidents.acknowledge(value.incident_id, reply.user, now)
        if incident is not None:
            effects = await reply.record("acknowledged", incident.ref)
    if incident is None:
        await reply.ephemeral("This alert is already acknowledged or resolved.")
        return
    provider = service.provider(incident.account)
    can_pause = Capability.PAUSE in service.capabilities_of(incident.account, incident.job_id)
    view = incident_view(incident, provider.label, can_pause=can_pause)
    message = render.alert_update(view, now=now)
    await reply.replace(message.text, message.blocks)
    await reply.send(effects)


async def _ref(reply: Reply, value: IncidentValue) -> str:
    """The alert's job: the incident knows its full ref; the button holds only a prefix."""
    incident = await reply.deps.store.incidents.get(value.incident_id)
    return incident.ref if incident is not None else value.ref


async def pause(reply: Reply, value: IncidentValue, body: dict[str, Any]) -> None:
    job = await reply.deps.service.resolve(await _ref(reply, value))
    paused = await changes.pause(reply, job)
    label = reply.deps.service.provider(paused.account).label
    await reply.ephemeral(paused_text(paused, label))


async def mute_hour(reply: Reply, value: IncidentValue, body: dict[str, Any]) -> None:
    await mute(reply, await _ref(reply, value), MUTE_BUTTON)


async def history(reply: Reply, value: IncidentValue, body: dict[str, Any]) -> None:
    job = await reply.deps.service.resolve(await _ref(reply, value))
    runs = await reply.deps.service.history(job, 10)
    blocks = history_blocks(job, runs, now=reply.deps.clock())
    await reply.ephemeral(history_text(job), blocks)
