"""Create, edit and add-on modals: open them fast, validate on submit, then call the provider."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.service import RefError
from bot.slack.deps import Deps
from bot.slack.forms import (
    FormErrors,
    as_shown,
    edited,
    parse_addon_form,
    parse_job_form,
    parse_kind,
)
from bot.slack.listeners import changes
from bot.slack.listeners.context import Refused, Registrar, Reply, acting_for
from bot.slack.render import problems
from bot.slack.render.changes import addon_created_text, change_text, saved_text
from bot.slack.render.ids import ActionId, CallbackId, ModalMeta
from bot.slack.render.modals import (
    addon_modal,
    job_modal,
    kind_picker,
    progress_modal,
    result_modal,
)
from providers.base import Capability, JobSpec
from providers.errors import ProviderError
from providers.miget.addons import AddonSpec
from providers.miget.client import Miget

log = logging.getLogger(__name__)


async def open_create_modal(reply: Reply, account: str | None, trigger_id: str) -> None:
    await reply.require_operator("create")
    service = reply.deps.service
    if account is None:
        if len(service.accounts) != 1:
            names = ", ".join(f"`/cron create {a}`" for a in service.accounts)
            raise RefError(f"Which account should the job be created in? Use one of: {names}.")
        account = service.accounts[0]
    provider = service.provider(account)
    kinds = list(provider.capabilities)
    meta = ModalMeta(account=account, provider=provider.slug, kind="", channel=reply.channel)
    if len(kinds) > 1:  # Cronhub: scheduler or monitor first
        await reply.client.views_open(trigger_id=trigger_id, view=kind_picker(meta))
        return
    view_id = await _open_loading(reply, trigger_id, "New job")
    fields = {**meta.model_dump(), "kind": kinds[0].value, "apps": await provider.apps()}
    meta = ModalMeta.model_validate(fields)  # validated: the apps that fit Slack's metadata
    await reply.client.views_update(view_id=view_id, view=job_modal(meta))


async def open_edit_modal(reply: Reply, ref: str, trigger_id: str) -> None:
    await reply.require_operator("edit")
    view_id = await _open_loading(reply, trigger_id, "Edit job")
    try:
        job = await reply.deps.service.show(await reply.deps.service.resolve(ref))
        if not job.can(Capability.UPDATE):
            provider = reply.deps.service.provider(job.account)
            raise provider.unsupported(Capability.UPDATE, job.id, job.kind)
    except (RefError, ProviderError) as error:
        if isinstance(error, RefError):
            text = problems.ref_problem(error)
        else:
            text = problems.provider_problem(error)
        await reply.client.views_update(view_id=view_id, view=result_modal("Edit job", text))
        return
    meta = ModalMeta(
        account=job.account, provider=job.provider, kind=job.kind.value, ref=job.ref,
        channel=reply.channel,
    )  # fmt: skip
    await reply.client.views_update(view_id=view_id, view=job_modal(meta, current=job.to_spec()))


async def _redrawn(deps: Deps, meta: ModalMeta, schedule_type: str | None) -> View:
    """The job form again for another schedule type; an edit stays the edit of its job (what
    was typed so far Slack keeps, the inputs being the same)."""
    if meta.ref is None:
        return job_modal(meta, schedule_type=schedule_type)
    try:
        job = await deps.service.show(await deps.service.resolve(meta.ref))
    except RefError as error:
        return result_modal("Edit job", problems.ref_problem(error))
    except ProviderError as error:
        return result_modal("Edit job", problems.provider_problem(error))
    return job_modal(meta, current=job.to_spec(), schedule_type=schedule_type)


async def open_addon_modal(reply: Reply, account: str, trigger_id: str) -> None:
    await reply.require_operator("create")
    provider = reply.deps.service.provider(account)
    if not isinstance(provider, Miget):
        raise RefError(f"`{account}` is a {provider.label} account; add-ons are a Miget feature.")
    view_id = await _open_loading(reply, trigger_id, "New add-on")
    meta = ModalMeta(
        account=account, provider=provider.slug, kind="addon", channel=reply.channel,
        apps=await provider.apps(),
    )  # fmt: skip
    await reply.client.views_update(view_id=view_id, view=addon_modal(meta))


async def _open_loading(reply: Reply, trigger_id: str, title: str) -> str:
    opened = await reply.client.views_open(
        trigger_id=trigger_id, view=progress_modal(title, "Loading…")
    )
    return str(opened["view"]["id"])


def register(app: Registrar, deps: Deps) -> None:
    async def on_kind(ack: AsyncAck, view: dict[str, Any]) -> None:
        meta = ModalMeta.load(view["private_metadata"])
        try:
            kind = parse_kind(view["state"]["values"])
        except FormErrors as error:
            await ack(response_action="errors", errors=error.errors)
            return
        meta = meta.model_copy(update={"kind": kind.value})
        await ack(response_action="update", view=job_modal(meta))

    async def on_job(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await submit_job(deps, ack, body, client)

    async def on_addon(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await submit_addon(deps, ack, body, client)

    async def on_schedule_type(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        meta = ModalMeta.load(view["private_metadata"])
        chosen = body["actions"][0].get("selected_option", {}).get("value")
        redrawn = await _redrawn(deps, meta, chosen)
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=redrawn)

    app.view(CallbackId.CREATE_KIND.value)(on_kind)
    app.view(CallbackId.CREATE.value)(on_job)
    app.view(CallbackId.EDIT.value)(on_job)
    app.view(CallbackId.ADDON_CREATE.value)(on_addon)
    app.action(ActionId.FORM_SCHEDULE_TYPE.value)(on_schedule_type)


async def submit_job(
    deps: Deps, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    """Ack within Slack's 3 s whatever happens: a form error is answered in the ack itself
    (``response_action: errors``, no request made); everything that talks to Slack or the
    provider comes after, in the modal."""
    view, user = body["view"], body["user"]["id"]
    meta = ModalMeta.load(view["private_metadata"])
    try:
        spec = parse_job_form(meta, view["state"]["values"])
    except FormErrors as error:
        await ack(response_action="errors", errors=error.errors)
        return
    editing = meta.ref is not None
    title = "Saving…" if editing else "Creating…"
    await ack(response_action="update", view=progress_modal(title, f"Talking to {meta.account}…"))
    reply = Reply(deps, user, meta.channel, client)
    async with deps.inflight.track():
        with acting_for(user):
            await in_modal(client, view["id"], _save(reply, client, view, meta, spec))


async def in_modal(client: AsyncWebClient, view_id: str, work: Awaitable[None]) -> None:
    """After a modal's ack: an unexpected failure ends in the modal, never as a stuck spinner."""
    try:
        await work
    except Exception:
        incident = uuid.uuid4().hex[:8]
        log.exception("modal submission failed (incident %s)", incident)
        text = f"Something went wrong inside cronops (logged as `{incident}`). Check the job list."
        await client.views_update(view_id=view_id, view=result_modal("Not finished", text))


async def _save(
    reply: Reply, client: AsyncWebClient, view: dict[str, Any], meta: ModalMeta, spec: JobSpec
) -> None:
    deps, user, editing = reply.deps, reply.user, meta.ref is not None
    verb = "edited" if editing else "created"
    shown = spec  # the form as it was submitted, to show again with an error
    try:
        await reply.require_operator("edit" if editing else "create")
        if meta.ref is not None:
            job = await deps.service.resolve(meta.ref)
            current = job.to_spec()
            shown = as_shown(spec, current)  # with the values left empty to keep them
            done = await changes.change(
                reply, verb, job, lambda: deps.service.update(job, edited(spec, current))
            )
        else:
            done = await deps.service.create(meta.account, spec)
    except Refused as refused:
        await client.views_update(
            view_id=view["id"], view=result_modal("Not saved", refused.message)
        )
        return
    except RefError as error:
        text = problems.ref_problem(error)
        await client.views_update(view_id=view["id"], view=result_modal("Not saved", text))
        return
    except FormErrors as error:  # what only the job as it is can tell (a masked URL)
        text = " ".join(error.errors.values())
        await client.views_update(
            view_id=view["id"], view=job_modal(meta, current=shown, error=text)
        )
        return
    except ProviderError as error:
        if not editing:
            await reply.record_failure(verb, meta.account, error.user_message)
        view_again = job_modal(meta, current=shown, error=error.user_message)
        await client.views_update(view_id=view["id"], view=view_again)
        return
    effects = await reply.record(verb, done, announce=change_text(user, verb, done))
    await client.views_update(view_id=view["id"], view=result_modal("Done", saved_text(verb, done)))
    await reply.send(effects)


async def submit_addon(
    deps: Deps, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    view, user = body["view"], body["user"]["id"]
    meta = ModalMeta.load(view["private_metadata"])
    reply = Reply(deps, user, meta.channel, client)
    try:
        fields = parse_addon_form(meta, view["state"]["values"])
    except FormErrors as error:
        await ack(response_action="errors", errors=error.errors)
        return
    await ack(response_action="update", view=progress_modal("Creating…", "Creating the add-on…"))
    async with deps.inflight.track():
        with acting_for(user):
            await in_modal(client, view["id"], _create_addon(reply, client, view, meta, fields))


async def _create_addon(
    reply: Reply, client: AsyncWebClient, view: dict[str, Any], meta: ModalMeta,
    fields: dict[str, Any],
) -> None:  # fmt: skip
    try:
        await reply.require_operator("create")
    except Refused as refused:
        await client.views_update(
            view_id=view["id"], view=result_modal("Not allowed", refused.message)
        )
        return
    provider = reply.deps.service.provider(meta.account)
    if not isinstance(provider, Miget):  # the modal only opens for Miget accounts
        raise TypeError(f"{meta.account} is not a Miget account")
    app = fields.pop("app", None)
    try:
        spec = AddonSpec.make(**{k: v for k, v in fields.items() if v is not None})
        addon = await provider.create_addon(spec, app=app)
    except (ProviderError, ValueError) as error:
        if isinstance(error, ProviderError):
            text = problems.provider_problem(error)
        else:
            text = problems.plain_problem(str(error))
        await client.views_update(view_id=view["id"], view=result_modal("Not created", text))
        return
    text = addon_created_text(reply.user, addon.type, addon.name, meta.account)
    effects = await reply.record("created add-on", f"{meta.account}:{addon.uuid}", announce=text)
    await client.views_update(view_id=view["id"], view=result_modal("Done", text))
    await reply.send(effects)
