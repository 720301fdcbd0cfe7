"""Where a request's answers go, and the boundary that turns any failure into a plain sentence."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.access import MembershipUnknown
from bot.chat.grammar import ParseError
from bot.chat.service import RefError
from bot.inflight import Inflight
from bot.slack.delivery import Delivery
from bot.slack.deps import Deps
from bot.slack.forms import FormErrors
from bot.slack.render import changes, messages, problems
from bot.slack.render.ids import ActionId
from bot.slack.render.modals import answer_modal, progress_modal
from bot.slack.respond import Blocks
from bot.store import Store
from providers.base import Job
from providers.budget import request_user
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

    def event(self, event_type: str) -> Callable[[Listener], object]:
        return lambda listener: self._app.event(event_type)(self._wrap(listener))


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
        """The reply to a button click: its user, and the channel of the message it was on
        (a :class:`HomeReply` for a button on the Home tab)."""
        user = body["user"]["id"]
        container = body.get("container") or {}
        if container.get("type") == "view" and (body.get("view") or {}).get("type") == "home":
            action = ((body.get("actions") or [{}])[0]).get("action_id")
            title = IN_A_MODAL.get(action) if isinstance(action, str) else None
            return HomeReply(deps, user, None, client, trigger_id=body.get("trigger_id"),
                             modal_title=title)  # fmt: skip
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        return cls(deps, user, channel, client, respond)

    async def begin(self) -> None:
        """Before the work: nothing to prepare for an answer in a channel."""

    async def end(self) -> None:
        """After the work, answered or not: nothing left to do for a message."""

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

    # -- what a change leaves besides itself -------------------------------------------
    async def record(
        self, action: str, subject: Job | str, *, announce: str | None = None
    ) -> Effects:
        """Record a change made through the bot, in the caller's transaction if it has one:
        its audit entry, and its post in the audit channel and announcement in this channel
        queued in the outbox (sent by :meth:`send`, retried by the outbox when Slack refuses).
        """
        store, now = self.deps.store, self.deps.clock()
        ref, name = _ref_and_name(subject)
        await store.audit.record(
            at=now, user_id=self.user, action=action, ref=ref, detail=name, ok=True
        )
        effects, tag = Effects(), uuid.uuid4().hex
        if self.deps.audit_channel:
            effects.keys.append(f"audit:{tag}")
            text = changes.audit_text(self.user, action, subject)
            await _queue(store, effects.keys[-1], self.deps.audit_channel, text, now)
        if announce and self.channel:
            effects.announcement = (f"announce:{tag}", announce)
            await _queue(store, effects.announcement[0], self.channel, announce, now)
            effects.keys.append(effects.announcement[0])
        return effects

    async def record_failure(self, action: str, subject: Job | str, error: str) -> None:
        """Record a change the provider refused: the audit entry only."""
        ref, name = _ref_and_name(subject)
        await self.deps.store.audit.record(
            at=self.deps.clock(), user_id=self.user, action=action, ref=ref, detail=name,
            ok=False, error=error,
        )  # fmt: skip

    async def send(self, effects: Effects) -> None:
        """Send a recorded change's messages now; best effort, never undoing the change.

        An announcement the bot cannot post in the channel (not invited, a DM) goes through
        the request's response_url instead; one Slack delays stays in the outbox, and the
        person who made the change is told it follows.
        """
        deps = self.deps
        delivery = Delivery(deps.store, self.client, deps.metrics)
        try:
            await delivery.deliver(deps.clock(), keys=effects.keys)
        except Exception:  # a side effect: the change stands whatever happens here
            log.exception("could not send the messages of a change")
        if effects.announcement is None:
            return
        key, text = effects.announcement
        outcome = await deps.store.outbox.outcome(key)
        if outcome == "failed" and self.respond is not None:
            await deps.responses.send(
                self.respond, text=text, response_type="in_channel", replace_original=False,
                unfurl_links=False, unfurl_media=False,
            )  # fmt: skip
        elif outcome == "waiting":
            await self.ephemeral(changes.delayed_text(text))

    async def require_operator(self, verb: str) -> None:
        access = self.deps.access
        try:
            allowed = await access.is_operator(self.user)
        except MembershipUnknown as unknown:
            raise Refused(problems.membership_unknown(unknown.group)) from None
        if not allowed:
            raise Refused(problems.refusal(verb, access.users, access.groups))


#: Buttons on the Home tab that answer with content, in a modal opened at once (Slack's
#: trigger lasts 3 s, a provider may take longer): their modal's title.
IN_A_MODAL: dict[str, str] = {ActionId.JOB_HISTORY: "History", ActionId.ALERT_HISTORY: "History"}


@dataclass
class HomeReply(Reply):
    """The reply to a button on the Home tab: there is no message to replace and no channel
    to answer in (Slack sends no response_url). The viewer's Home is published again once
    the work is done; a sentence (a refusal, an error) is said at its top; content (a
    history) is shown in a modal, opened before the work starts."""

    trigger_id: str | None = None
    modal_title: str | None = None  # the button answers in a modal
    _modal: str | None = field(default=None, init=False)  # its view id, once open
    _published: bool = field(default=False, init=False)

    async def begin(self) -> None:
        if self.modal_title is None or not self.trigger_id:
            return
        try:
            opened = await self.client.views_open(
                trigger_id=self.trigger_id, view=progress_modal(self.modal_title, "Loading…")
            )
        except SlackApiError as error:  # an expired trigger: the answer goes to the Home
            log.info("no modal for a Home button: %s", error.response.get("error"))
            return
        except Exception:  # never keep the work from running
            log.exception("no modal for a Home button")
            return
        self._modal = str(opened["view"]["id"])

    async def ephemeral(self, text: str, blocks: Blocks | None = None) -> None:
        if self._modal is not None:
            view = answer_modal(self.modal_title or "cronops", blocks or messages.notice(text))
            await self.client.views_update(view_id=self._modal, view=view)
        else:
            await self._publish(text)

    async def replace(self, text: str, blocks: Blocks) -> None:
        """The card or alert the button stands for changed: the Home shows it as it is now."""
        await self._publish(None)

    async def end(self) -> None:
        if self._published or self._modal is not None:
            return
        try:
            await self._publish(None)
        except Exception:  # the work is done; only the view of it is late
            log.exception("could not publish the Home tab after a button")

    async def _publish(self, notice: str | None) -> None:
        self._published = True
        if self.deps.home is not None:
            await self.deps.home.show(self.user, notice)


@dataclass
class Effects:
    """The messages a recorded change sends: outbox keys, and its announcement (key, text)."""

    keys: list[str] = field(default_factory=list)
    announcement: tuple[str, str] | None = None


def _ref_and_name(subject: Job | str) -> tuple[str, str]:
    return (subject, subject) if isinstance(subject, str) else (subject.ref, subject.name)


async def _queue(store: Store, key: str, channel: str, text: str, now: datetime) -> None:
    await store.outbox.enqueue(key, "post", channel, {"text": text}, now=now)


async def guarded(reply: Reply, work: Awaitable[Any]) -> None:
    """Run a listener's work; every failure becomes a short ephemeral sentence, never a trace."""
    async with reply.deps.inflight.track():
        with acting_for(reply.user):
            await reply.begin()
            await _guarded(reply, work)
            await reply.end()


@contextlib.contextmanager
def acting_for(user: str) -> Iterator[None]:
    """Provider requests made inside count against ``user``'s fair share of a budget."""
    token = request_user.set(user)
    try:
        yield
    finally:
        request_user.reset(token)


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
