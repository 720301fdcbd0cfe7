"""`cronops console`: a terminal stand-in for Slack, like Hubot's shell adapter.

Each line is a slash command sent, signed, through the very same Bolt app and listeners over
its HTTP endpoint; what the app sends to Slack lands in the fake Web API (served on loopback)
and is printed as text. Buttons are numbered (`click N`); modals are filled field by field.
The app runs with ``ack_first=False`` so each request finishes before the next prompt.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.types import ASGIApp

from bot.chat.grammar import COMMAND_WORDS
from bot.demo.fakeslack import Call, FakeSlack, sign

Ask = Callable[[str], Awaitable[str | None]]  # prompt -> line, None at end of input
Say = Callable[[str], None]
Extra = Callable[[str], Awaitable[str]]  # a console-only word: argument -> what to print

USER, CHANNEL, TEAM = "UCONSOLE", "CCONSOLE", "TCONSOLE"
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<[@#]([A-Z0-9]+)(?:\|[^>]*)?>|<!subteam\^([A-Z0-9]+)>")


@dataclass
class Button:
    element: dict[str, Any]  # as the message or view showed it; Slack echoes it back
    block_id: str
    source: Call


class Console:
    def __init__(
        self, http_app: ASGIApp, fake: FakeSlack, secret: str, say: Say, ask: Ask,
        extras: dict[str, Extra] | None = None,
    ) -> None:  # fmt: skip
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=http_app), base_url="http://cronops.console"
        )
        self.fake, self.secret, self.say, self.ask = fake, secret, say, ask
        self.buttons: list[Button] = []
        self.extras = dict(extras or {})
        self._seen = len(fake.calls)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def line(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        word, _, rest = text.partition(" ")
        if word == "click":
            await self.click(rest.strip())
        elif word == "/cron":
            await self.command(rest.strip())
        elif word in self.extras:
            self.say(await self.extras[word](rest.strip()))
            await self._show_new_calls()
        elif word in COMMAND_WORDS:
            self.say(f"Commands start with /cron: try `/cron {text}`.")
        else:
            words = "".join(f", `{w}`" for w in self.extras)
            self.say(f"Type a /cron command (try `/cron help`), `click N`{words}.")

    async def command(self, text: str) -> None:
        form = {
            "command": "/cron", "text": text, "user_id": USER, "user_name": "console",
            "channel_id": CHANNEL, "team_id": TEAM, "trigger_id": f"trigger.{time.time()}",
            "response_url": self.fake.response_url(),
        }  # fmt: skip
        await self._post(urlencode(form))

    async def click(self, number: str) -> None:
        if not number.isdigit() or not 1 <= int(number) <= len(self.buttons):
            self.say(f"No button {number}; buttons on screen: 1–{len(self.buttons)}.")
            return
        button = self.buttons[int(number) - 1]
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": USER, "name": "console"},
            "team": {"id": TEAM}, "trigger_id": f"trigger.{time.time()}",
            "actions": [{**button.element, "block_id": button.block_id,
                         "action_ts": f"{time.time():.6f}"}],
        }  # fmt: skip
        view = button.source.result.get("view") or button.source.body.get("view")
        if button.source.method.startswith("views.") and view:
            payload["view"] = {**view, "state": {"values": {}}}
            payload["container"] = {"type": "view", "view_id": view.get("id")}
        else:
            payload["channel"] = {"id": CHANNEL}
            payload["container"] = {"type": "message", "channel_id": CHANNEL}
            payload["response_url"] = self.fake.response_url()
            payload["message"] = {"ts": button.source.body.get("ts", ""), "blocks": []}
        await self._post(urlencode({"payload": json.dumps(payload)}))

    async def _post(self, body: str) -> None:
        response = await self.client.post(
            "/slack/events", content=body, headers=sign(self.secret, body)
        )
        if response.status_code != 200:
            self.say(f"(the app answered HTTP {response.status_code})")
        elif response.content:
            self._show_ack(response)
        await self._show_new_calls()

    def _show_ack(self, response: httpx.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            self.say(response.text)
            return
        if body.get("response_action") == "errors":
            self.say("The form has errors:")
            for block, error in body.get("errors", {}).items():
                self.say(f"  {block}: {error}")
        elif body:
            self._render(Call("ack", body))

    async def _show_new_calls(self) -> None:
        while self._seen < len(self.fake.calls):
            call = self.fake.calls[self._seen]
            self._seen += 1
            if call.method in ("views.open", "views.update", "views.push"):
                await self._modal(call)
            elif call.method not in ("auth.test", "conversations.history", "usergroups.users.list"):
                self._render(call)

    def _render(self, call: Call) -> None:
        body = call.body
        where = {
            "chat.postMessage": f"#{body.get('channel')}",
            "chat.update": "(updated)",
            "chat.postEphemeral": "(only you)",
            "response_url": "(replaces)" if body.get("replace_original") else "(only you)",
        }.get(call.method, "")
        if call.method == "response_url" and body.get("response_type") == "in_channel":
            where = "#channel"
        self.say(f"── {where}".rstrip())
        if body.get("blocks"):
            for block in body["blocks"]:
                self._block(block, call)
        elif body.get("text"):
            self.say(plain(str(body["text"])))

    def _block(self, block: dict[str, Any], call: Call) -> None:
        kind = block.get("type")
        if kind in ("section", "header"):
            text = (block.get("text") or {}).get("text", "")
            fields = [f.get("text", "") for f in block.get("fields") or []]
            for part in [text, *fields]:
                if part:
                    self.say(plain(part))
            if (accessory := block.get("accessory")) and accessory.get("type") == "button":
                self._button(accessory, block, call)
        elif kind == "context":
            self.say("  " + "  ".join(plain(e.get("text", "")) for e in block.get("elements", [])))
        elif kind == "divider":
            self.say("  ─────")
        elif kind == "actions":
            for element in block.get("elements", []):
                if element.get("type") == "button":
                    self._button(element, block, call)

    def _button(self, element: dict[str, Any], block: dict[str, Any], call: Call) -> None:
        label = element.get("text", {}).get("text", "?")
        self.buttons.append(Button(element, block.get("block_id", ""), call))
        self.say(f"  [{len(self.buttons)}] {label}")

    async def _modal(self, call: Call) -> None:
        view = {**call.body.get("view", {}), **(call.result.get("view") or {})}
        title = (view.get("title") or {}).get("text", "")
        self.say(f"── modal: {title}")
        inputs = [b for b in view.get("blocks", []) if b.get("type") == "input"]
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                self._block(block, call)
        if not inputs or not view.get("submit"):
            return
        values: dict[str, Any] = {}
        for block in inputs:
            values[block["block_id"]] = await self._field(block)
        payload = {
            "type": "view_submission", "user": {"id": USER, "name": "console"},
            "team": {"id": TEAM}, "trigger_id": f"trigger.{time.time()}",
            "view": {**view, "state": {"values": values}},
        }  # fmt: skip
        await self._post(urlencode({"payload": json.dumps(payload)}))

    async def _field(self, block: dict[str, Any]) -> dict[str, Any]:
        element = block["element"]
        label = block.get("label", {}).get("text", block["block_id"])
        options = element.get("options") or []
        initial = _initial(element)
        choices = f" ({' | '.join(o['value'] for o in options)})" if options else ""
        hint = f" [{initial}]" if initial else ""
        answer = await self.ask(f"  {label}{choices}{hint}: ")
        value = (answer or "").strip() or initial
        return {element["action_id"]: state_value(element, value)}


def _initial(element: dict[str, Any]) -> str:
    for key in ("initial_value", "initial_time"):
        if element.get(key):
            return str(element[key])
    if option := element.get("initial_option"):
        return str(option.get("value", ""))
    if options := element.get("initial_options"):
        return ",".join(str(o.get("value", "")) for o in options)
    return ""


def state_value(element: dict[str, Any], value: str) -> dict[str, Any]:
    """The ``state.values`` entry Slack would send for this element."""
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": {"value": value} if value else None}
    if kind == "checkboxes":
        picked = [{"value": v} for v in value.split(",") if v]
        return {"type": kind, "selected_options": picked}
    if kind == "timepicker":
        return {"type": kind, "selected_time": value or None}
    return {"type": kind, "value": value or None}


def plain(text: str) -> str:
    """Slack mrkdwn as terminal text: dates to their fallback, links and mentions readable."""
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _MENTION.sub(lambda m: "@" + (m.group(1) or m.group(2)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
