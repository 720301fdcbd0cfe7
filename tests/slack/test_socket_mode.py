"""Socket Mode: the same app, reached over Slack's websocket instead of signed HTTP requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.demo.fakeslack import FakeSlack
from bot.runtime import runtime
from bot.slack.app import build_app
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite
from tests.conftest import OPERATOR


@pytest.fixture
async def socket(tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, SimSuite]]:
    suite = SimSuite(seed=5, jobs=6, options=UNLIMITED)
    fake = FakeSlack()
    async with (
        LoopbackServer(fake.app) as slack,
        runtime(
            suite.accounts(), database_url=f"sqlite:///{tmp_path}/s.db", operators=[OPERATOR],
            transport_for=suite.transport_for,
        ) as built,
    ):  # fmt: skip
        fake.base_url = slack.url
        app = build_app(
            built.deps, token="xoxb-t", signing_secret=None, api_url=f"{slack.url}/api/"
        )
        handler = AsyncSocketModeHandler(app, "xapp-test-token")
        await handler.connect_async()  # type: ignore[no-untyped-call]
        try:
            yield fake, suite
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]


async def test_a_slash_command_over_the_socket_is_acked_and_answered(
    socket: tuple[FakeSlack, SimSuite],
) -> None:
    fake, _ = socket
    await fake.wait_for("apps.connections.open")
    fake.socket_send({
        "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
        "payload": {
            "command": "/cron", "text": "list prod", "user_id": OPERATOR, "channel_id": "C1",
            "team_id": "T1", "trigger_id": "t.1", "response_url": fake.response_url(),
        },
    })  # fmt: skip
    (ack,) = await fake.wait_for("socket_ack", within=10)
    assert ack.body["envelope_id"] == "env-1"
    (answer,) = await fake.wait_for("response_url", within=10)
    assert "`prod:" in str(answer.body["blocks"])


async def test_a_button_over_the_socket_changes_the_job(
    socket: tuple[FakeSlack, SimSuite],
) -> None:
    fake, suite = socket
    sim = suite["cronjob-org"]
    jobs = sim.jobs  # type: ignore[attr-defined]
    job_id = next(i for i, j in jobs.items() if j["enabled"] and j.get("type", 0) == 0)
    await fake.wait_for("apps.connections.open")
    fake.socket_send({
        "envelope_id": "env-2", "type": "interactive", "accepts_response_payload": False,
        "payload": {
            "type": "block_actions", "user": {"id": OPERATOR}, "team": {"id": "T1"},
            "channel": {"id": "C1"}, "container": {"type": "message", "channel_id": "C1"},
            "trigger_id": "t.2", "response_url": fake.response_url(),
            "actions": [{"action_id": "job.pause", "block_id": "b",
                         "value": f'{{"ref":"prod:{job_id}"}}', "type": "button"}],
        },
    })  # fmt: skip
    await fake.wait_for("socket_ack", within=10)
    await fake.wait_for("response_url", within=10, where=lambda c: "replace_original" in c.body)
    assert jobs[job_id]["enabled"] is False
