"""Alert routing and muting commands, and the buttons on alert messages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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
from bot.slack.render.alerts import EVERYTHING
from bot.slack.render.changes import paused_text
from bot.slack.render.ids import ActionId, IncidentValue
from bot.slack.render.jobs import history_blocks, history_text
from providers.base import Capability

log = logging.getLogger(__name__)

MUTE_BUTTON = timedelta(hours=1)


async def run(reply: Reply, parsed: cmds.Command) -> None:
    """The alert commands of `/cron` (the rest are in listeners.cron)."""
    match parsed:
        case cmds.Subscribe(target=target):
            await subscribe(reply, target or EVERYTHING)
        case cmds.Unsubscribe(target=target):
            await unsubscribe(reply, target or EVERYTHING)
        case cmds.Subscriptions():
            await list_subscriptions(reply)
        case cmds.Mute(ref=ref, duration=duration):
            await mute(reply, ref, duration)
        case cmds.Unmute(ref=ref):
            await unmute(reply, ref)


async def subscribe(reply: Reply, target: str) -> None:
    """Subscribe this channel; saved only once the bot has posted here (so it can post the
    alerts too), and audited. ``alerts.channel`` gets every alert either way."""
    channel = _channel(reply)
    store, now = reply.deps.store, reply.deps.clock()
    if any(
        s.target.casefold() == target.casefold() for s in await store.subscriptions.all(channel)
    ):
        await reply.ephemeral(render.already_subscribed_text(channel, target))
        return
    try:
        await reply.client.chat_postMessage(
            channel=channel, text=render.subscribed_text(reply.user, channel, target),
            unfurl_links=False, unfurl_media=False,
        )  # fmt: skip
    except SlackApiError as error:
        code = error.response.get("error")
        log.info("cannot post in %s (%s): not subscribed", channel, code)
        await reply.ephemeral(render.cannot_post_text(channel, str(code)))
        return
    async with store.unit():
        added = await store.subscriptions.add(channel, target, reply.user, now)
        if added:
            effects = await reply.record("subscribed", f"{channel} to {target}")
    if not added:  # subscribed meanwhile, by the same command sent twice: recorded once
        await reply.ephemeral(render.already_subscribed_text(channel, target))
        return
    await reply.send(effects)


async def unsubscribe(reply: Reply, target: str) -> None:
    channel = _channel(reply)
    store = reply.deps.store
    async with store.unit():
        removed = await store.subscriptions.remove(channel, target)
        if removed:
            effects = await reply.record(
                "unsubscribed", f"{channel} from {target}",
                announce=render.unsubscribed_text(reply.user, channel, target),
            )  # fmt: skip
    if not removed:
        await reply.ephemeral(render.not_subscribed_text(channel, target))
        return
    await reply.send(effects)


async def list_subscriptions(reply: Reply) -> None:
    channel = _channel(reply)
    targets = [s.target for s in await reply.deps.store.subscriptions.all(channel)]
    await reply.ephemeral("Subscriptions", render.subscriptions_list(channel, targets))


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
