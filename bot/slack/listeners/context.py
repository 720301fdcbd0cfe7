"""Where a request's answers go, and the boundary that turns any failure into a plain sentence."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.grammar import ParseError
from bot.chat.service import RefError
from bot.inflight import Inflight
from bot.slack.deps import Deps
from bot.slack.forms import FormErrors
from bot.slack.render import changes, messages, problems
from bot.slack.respond import Blocks
from providers.base import Job
from providers.errors import ProviderError

log = logging.getLogger(__name__)


Listener = Callable[..., Awaitable[None]]


class Registrar:
    """Where listeners register: the Bolt app, each listener wrapped on the way in."""

    def __init__(self, app: AsyncApp, wrap: Callable[[Listener], Listener] | None) -> None:
        self._app = app
        self._wrap = wrap or (lambda listener: listener)

    def command(self, command: str) -> Callable[[Listener], object]:
        return lambda listener: self._app.command(command)(self._wrap(listener))

    def action(self, action_id: str) -> Callable[[Listener], object]:
        return lambda listener: self._app.action(action_id)(self._wrap(listener))

    def view(self, callback_id: str) -> Callable[[Listener], object]:
        return lambda listener: self._app.view(callback_id)(self._wrap(listener))


def return_on_ack(inflight: Inflight, listener: Listener) -> Listener:
    """Return to Bolt the moment the listener acked; the rest of it runs on in the background.

    Bolt's own ack-first mode (``process_before_response=False``) checks whether ``ack()`` was
    called every 10 ms, which put up to 10 ms on every ack and a wake-up per request every
    10 ms under load. The app runs with ``process_before_response=True`` and each listener is
    wrapped in this instead: an event set by ``ack()`` ends the wait. The work after the ack
    is tracked (``inflight``), so shutdown lets it finish.
    """

    @functools.wraps(listener)  # Bolt passes the arguments the listener's signature names
    async def run(**kwargs: Any) -> None:
        acked, ack = asyncio.Event(), kwargs["ack"]

        async def ack_and_tell(*args: Any, **options: Any) -> Any:
            try:
                return await ack(*args, **options)
            finally:
                acked.set()

        work: asyncio.Future[None] = inflight.spawn(listener(**{**kwargs, "ack": ack_and_tell}))
        waiting: asyncio.Future[Any] = asyncio.ensure_future(acked.wait())
        either: set[asyncio.Future[Any]] = {work, waiting}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        if work.done():
            work.result()  # a failure before the ack is Bolt's to report

    return run


class Refused(Exception):
    """The user may not do this; ``message`` (mrkdwn) says who may."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass
class Reply:
    """One request's user, channel and ways to answer."""

    deps: Deps
    user: str
    channel: str | None
    client: AsyncWebClient
    respond: AsyncRespond | None = None

    @classmethod
    def to_action(
        cls, deps: Deps, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> Reply:
        """The reply to a button click: its user, and the channel of the message it was on."""
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        return cls(deps, body["user"]["id"], channel, client, respond)

    async def ephemeral(self, text: str, blocks: Blocks | None = None) -> None:
        if self.respond is not None:
            await self.deps.responses.send(
                self.respond, text=text, blocks=blocks or messages.notice(text),
                response_type="ephemeral", replace_original=False,
            )  # fmt: skip
        elif self.channel:
            await self.client.chat_postEphemeral(
                channel=self.channel, user=self.user, text=text, blocks=blocks
            )

    async def replace(self, text: str, blocks: Blocks) -> None:
        """Replace the message the button was on (Pause/Resume flip in place)."""
        if self.respond is not None:
            await self.deps.responses.send(
                self.respond, text=text, blocks=blocks, replace_original=True
            )

    async def announce(self, text: str) -> str | None:
        """Post a change in the channel (link unfurling off); returns the message ts if known."""
        if self.channel:
            try:
                posted = await self.client.chat_postMessage(
                    channel=self.channel, text=text, unfurl_links=False, unfurl_media=False
                )
                return str(posted["ts"])
            except SlackApiError as error:  # not in the channel: answer through response_url
                log.info("could not post in %s: %s", self.channel, error.response.get("error"))
        if self.respond is not None:
            await self.deps.responses.send(
                self.respond, text=text, response_type="in_channel", replace_original=False,
                unfurl_links=False, unfurl_media=False,
            )  # fmt: skip
        return None

    async def audit(self, action: str, job: Job | str, *, ok: bool = True, error: str = "") -> None:
        """Record a change (or a refused/failed one) and post it to the audit channel."""
        ref = job if isinstance(job, str) else job.ref
        store = self.deps.store
        if store is not None:
            await store.audit.record(
                at=self.deps.clock(), user_id=self.user, action=action, ref=ref,
                detail=job if isinstance(job, str) else job.name, ok=ok, error=error or None,
            )  # fmt: skip
        if self.deps.audit_channel and ok:
            await self.client.chat_postMessage(
                channel=self.deps.audit_channel, text=changes.audit_text(self.user, action, job),
                unfurl_links=False, unfurl_media=False,
            )  # fmt: skip

    async def require_operator(self, verb: str) -> None:
        access = self.deps.access
        if not await access.is_operator(self.user):
            raise Refused(problems.refusal(verb, access.users, access.groups))


async def guarded(reply: Reply, work: Awaitable[Any]) -> None:
    """Run a listener's work; every failure becomes a short ephemeral sentence, never a trace."""
    async with reply.deps.inflight.track():
        await _guarded(reply, work)


async def _guarded(reply: Reply, work: Awaitable[Any]) -> None:
    try:
        await work
    except Refused as refused:
        await reply.ephemeral(refused.message)
    except RefError as error:
        await _problem(reply, problems.ref_problem(error))
    except ParseError as error:
        await _problem(reply, problems.parse_problem(error.message, error.usage))
    except ProviderError as error:
        await _problem(reply, problems.provider_problem(error))
    except FormErrors as error:
        await _problem(reply, problems.form_problem(error.errors.values()))
    except Exception:
        incident = uuid.uuid4().hex[:8]
        log.exception("listener failed (incident %s)", incident)
        await _problem(reply, problems.internal_problem(incident))


async def _problem(reply: Reply, text: str) -> None:
    await reply.ephemeral(text, messages.error(text))
