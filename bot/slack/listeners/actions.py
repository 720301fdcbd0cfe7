"""Buttons: ack at once, re-check access, then act and flip the message in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.deps import Deps
from bot.slack.listeners import changes
from bot.slack.listeners.context import Registrar, Reply, guarded
from bot.slack.listeners.cron import send_list
from bot.slack.listeners.modals import open_edit_modal
from bot.slack.render import messages
from bot.slack.render.changes import by_line, deleted_text, flipped_text, kept_text
from bot.slack.render.ids import ActionId, JobValue, PageValue
from bot.slack.render.jobs import card_text, history_blocks, history_text, job_card

Handler = Callable[[Reply, dict[str, Any], dict[str, Any]], Awaitable[None]]


def register(app: Registrar, deps: Deps) -> None:
    handlers: dict[ActionId, Handler] = {
        ActionId.JOB_SHOW: show,
        ActionId.JOB_PAUSE: pause,
        ActionId.JOB_RESUME: resume,
        ActionId.JOB_HISTORY: history,
        ActionId.JOB_EDIT: edit,
        ActionId.JOB_DELETE: delete,
        ActionId.JOB_DELETE_CONFIRM: delete,
        ActionId.JOB_DELETE_CANCEL: cancel_delete,
        ActionId.LIST_MORE: more,
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
        await guarded(reply, handler(reply, body, action))

    return listener


async def _job(reply: Reply, action: dict[str, Any]) -> Any:
    return await reply.deps.service.resolve(JobValue.load(action["value"]).ref)


def _by(reply: Reply, verb: str) -> str:
    return by_line(verb, reply.user, reply.deps.clock())


async def show(reply: Reply, body: dict[str, Any], action: dict[str, Any]) -> None:
    job = await reply.deps.service.show(await _job(reply, action))
    await reply.ephemeral(card_text(job), job_card(job, now=reply.deps.clock()))


async def pause(reply: Reply, body: dict[str, Any], action: dict[str, Any]) -> None:
    paused = await changes.pause(reply, await _job(reply, action))
    card = job_card(paused, now=reply.deps.clock(), note="⏸️ " + _by(reply, "Paused"))
    await reply.replace(flipped_text("Paused", paused), card)


async def resume(reply: Reply, body: dict[str, Any], action: dict[str, Any]) -> None:
    resumed = await changes.resume(reply, await _job(reply, action))
    card = job_card(resumed, now=reply.deps.clock(), note="▶️ " + _by(reply, "Resumed"))
    await reply.replace(flipped_text("Resumed", resumed), card)


async def history(reply: Reply, body: dict[str, Any], action: dict[str, Any]) -> None:
    job = await _job(reply, action)
    runs = await reply.deps.service.history(job, 10)
    await reply.ephemeral(history_text(job), history_blocks(job, runs, now=reply.deps.clock()))


async def edit(reply: Reply, body: dict[str, Any], action: dict[str, Any]) -> None:
    await open_edit_modal(reply, JobValue.load(action["value"]).ref, body["trigger_id"])


async def delete(reply: Reply, body: dict[str, Any], action: dict[str, Any]) -> None:
    job = await _job(reply, action)
    await changes.delete(reply, job)
    text = deleted_text(job, reply.user, reply.deps.clock())
    await reply.replace(text, messages.notice(text))


async def cancel_delete(reply: Reply, body: dict[str, Any], action: dict[str, Any]) -> None:
    text = kept_text(JobValue.load(action["value"]).ref)
    await reply.replace(text, messages.notice(text))


async def more(reply: Reply, body: dict[str, Any], action: dict[str, Any]) -> None:
    await send_list(reply, PageValue.load(action["value"]), replace=True)
