"""A Slack workspace in a box: signed requests into the real app, a fake Web API on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.demo.fakeslack import FakeSlack, sign
from bot.runtime import Runtime, runtime
from bot.slack.app import build_app
from bot.slack.http import build_http_app
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite
from tests.alerts.world import world  # noqa: F401 (a fixture for the alert tests)
from tests.store.stores import open_store, store  # noqa: F401 (fixtures for the store tests)

SECRET = "test-signing-secret"
OPERATOR, READER = "UOPERATOR", "UREADER"
CHANNEL = "CALERTS01"


@dataclass
class Workspace:
    fake: FakeSlack
    suite: SimSuite
    built: Runtime
    http: httpx.AsyncClient

    async def post(
        self, body: str, *, secret: str = SECRET, ts: int | None = None
    ) -> httpx.Response:
        return await self.http.post("/slack/events", content=body, headers=sign(secret, body, ts))

    async def command(self, text: str, *, user: str = OPERATOR) -> httpx.Response:
        form = {
            "token": "legacy", "team_id": "T1", "team_domain": "acme", "channel_id": CHANNEL,
            "channel_name": "ops", "user_id": user, "user_name": user.lower(),
            "command": "/cron", "text": text, "api_app_id": "A1",
            "response_url": self.fake.response_url(), "trigger_id": f"13345.{time.time()}",
        }  # fmt: skip
        return await self.post(urlencode(form))

    async def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = OPERATOR,
        view: dict[str, Any] | None = None,
        option: str | None = None,
    ) -> httpx.Response:
        """A button clicked, or with ``option`` a choice made in radio buttons."""
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user, "username": user.lower()},
            "api_app_id": "A1", "token": "legacy", "team": {"id": "T1", "domain": "acme"},
            "trigger_id": f"13345.{time.time()}",
            "actions": [{"action_id": action_id, "block_id": "b1", "value": value,
                         "type": "button", "action_ts": str(time.time())}],
        }  # fmt: skip
        if option is not None:
            payload["actions"][0] |= {"type": "radio_buttons", "selected_option": {"value": option}}
        if view is None:  # a button on a message; on a view (a modal, the Home tab) Slack
            payload["response_url"] = self.fake.response_url()  # sends no response_url
            payload["container"] = {"type": "message", "message_ts": "1.1", "channel_id": CHANNEL,
                                    "is_ephemeral": True}  # fmt: skip
            payload["channel"] = {"id": CHANNEL, "name": "ops"}
            payload["message"] = {"type": "message", "ts": "1.1", "text": "", "blocks": []}
        else:
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = view
        return await self.post(urlencode({"payload": json.dumps(payload)}))

    async def event(self, event: dict[str, Any]) -> httpx.Response:
        """An Events API callback, as Slack sends it (JSON, signed)."""
        body = json.dumps({
            "token": "legacy", "team_id": "T1", "api_app_id": "A1", "event": event,
            "type": "event_callback", "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()), "authorizations": [],
        })  # fmt: skip
        headers = {**sign(SECRET, body), "Content-Type": "application/json"}
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def open_home(self, user: str = OPERATOR) -> httpx.Response:
        """``user`` opens the bot's Home tab."""
        return await self.event({
            "type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
            "event_ts": str(time.time()),
        })  # fmt: skip

    async def submit(
        self, view: dict[str, Any], values: dict[str, Any], *, user: str = OPERATOR
    ) -> httpx.Response:
        payload = {
            "type": "view_submission", "user": {"id": user, "username": user.lower()},
            "api_app_id": "A1", "token": "legacy", "team": {"id": "T1", "domain": "acme"},
            "trigger_id": f"13345.{time.time()}",
            "view": {**view, "state": {"values": values}, "hash": "h1"},
        }  # fmt: skip
        return await self.post(urlencode({"payload": json.dumps(payload)}))


@pytest.fixture
async def workspace(tmp_path: Any, request: pytest.FixtureRequest) -> AsyncIterator[Workspace]:
    """The workspace; ``indirect`` parametrization may set ``budget`` (cron-job.org's daily
    request budget, 5,000 by default) and ``jobs`` (per provider, 10 by default)."""
    options = getattr(request, "param", {})
    suite = SimSuite(seed=11, jobs=options.get("jobs", 10), options=UNLIMITED)
    fake = FakeSlack()
    accounts = suite.accounts(budget=options.get("budget", 5000))
    async with (
        LoopbackServer(fake.app) as slack,
        runtime(
            accounts, database_url=f"sqlite:///{tmp_path}/bot.db", operators=[OPERATOR],
            audit_channel="CAUDIT01", transport_for=suite.transport_for,
        ) as built,
    ):  # fmt: skip
        fake.base_url = slack.url
        app = build_app(
            built.deps, token="xoxb-test", signing_secret=SECRET, api_url=f"{slack.url}/api/"
        )
        transport = httpx.ASGITransport(app=build_http_app(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            yield Workspace(fake, suite, built, http)


def texts(call: Any) -> str:
    """Everything readable in a recorded call: text and every block, as JSON."""
    return json.dumps(call.body)
