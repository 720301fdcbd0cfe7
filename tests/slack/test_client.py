"""Whatever a message was built from, no secret the registry knows reaches Slack."""

from __future__ import annotations

from slack_sdk.models.blocks import SectionBlock

from bot.demo.fakeslack import FakeSlack
from bot.slack.app import SlackClient
from providers.redact import MASK, secrets
from providers.sim.serve import LoopbackServer

CANARY = "canary-slack-secret-91c2"


async def test_a_known_secret_is_masked_in_every_field_of_a_web_api_call() -> None:
    secrets.add(CANARY)
    fake = FakeSlack()
    async with LoopbackServer(fake.app) as slack:
        fake.base_url = slack.url
        client = SlackClient(token="xoxb-t", base_url=f"{slack.url}/api/")
        await client.chat_postMessage(
            channel="C1", text=f"the key is {CANARY}",
            blocks=[SectionBlock(text=f"*{CANARY}*")],
            metadata={"event_type": "t", "event_payload": {"key": CANARY}},
        )  # fmt: skip
        await client.views_open(trigger_id="t1", view={"type": "modal", "title": CANARY})
    sent = "".join(str(call.body) for call in fake.calls)
    assert CANARY not in sent
    assert sent.count(MASK) >= 4
