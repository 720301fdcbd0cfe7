"""Alert routing and muting commands, and the buttons on alert messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.notifier import Notifier
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
    channel = _channel(reply)
    store, now = reply.deps.store, reply.deps.clock()
    if await store.subscriptions.add(channel, target, reply.user, now):
        await reply.announce(render.subscribed_text(reply.user, channel, target))
    else:
        await reply.ephemeral(render.already_subscribed_text(channel, target))


async def unsubscribe(reply: Reply, target: str) -> None:
    channel = _channel(reply)
    if await reply.deps.store.subscriptions.remove(channel, target):
        await reply.announce(render.unsubscribed_text(reply.user, channel, target))
    else:
        await reply.ephemeral(render.not_subscribed_text(channel, target))


async def list_subscriptions(reply: Reply) -> None:
    channel = _channel(reply)
    targets = [s.target for s in await reply.deps.store.subscriptions.all(channel)]
    await reply.ephemeral("Subscriptions", render.subscriptions_list(channel, targets))


async def mute(reply: Reply, ref: str, duration: timedelta | None) -> None:
    await reply.require_operator("mute")
    job = await reply.deps.service.resolve(ref)
    now = reply.deps.clock()
    until = now + duration if duration else None
    await reply.deps.store.mutes.set(job.ref, until, reply.user, now)
    await reply.audit("muted", job)
    await reply.announce(render.muted_text(reply.user, job.ref, until))


async def unmute(reply: Reply, ref: str) -> None:
    await reply.require_operator("unmute")
    job = await reply.deps.service.resolve(ref)
    if not await reply.deps.store.mutes.remove(job.ref):
        await reply.ephemeral(render.not_muted_text(job.ref))
        return
    await reply.audit("unmuted", job)
    await reply.announce(render.unmuted_text(reply.user, job.ref))


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
    store, now = reply.deps.store, reply.deps.clock()
    incident = await store.incidents.acknowledge(value.incident_id, reply.user, now)
    if incident is None:
        await reply.ephemeral("This alert is already acknowledged or resolved.")
        return
    job = await reply.deps.service.resolve(incident.ref)
    labels = {name: p.label for name, p in reply.deps.service.providers.items()}
    view = Notifier(store, reply.client, None, labels).view(incident, job)
    message = render.alert_update(view, now=now)
    await reply.replace(message.text, message.blocks)
    await reply.audit("acknowledged", job)


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
