"""What Slack would make of a message the bot sends: the text it parses as mrkdwn.

:func:`mrkdwn_texts` walks a message or view (as JSON) and returns every string Slack renders
as mrkdwn — the top-level ``text`` (the notification), mrkdwn text objects in blocks, confirm
dialogs — so a test can check that nothing a provider or a user wrote pings or links anybody.
Button values, ``private_metadata`` and input values are data, not text people see: skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

#: Names and texts that would ping or link somebody if they reached mrkdwn unescaped.
HOSTILE = ("<!channel>", "<!here>", "<@U123>", "<https://evil.example|click>")
#: Escaping twice shows people the entity instead of the character.
DOUBLE_ESCAPED = re.compile(r"&amp;(?:amp|lt|gt);")


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn string of a ``chat.postMessage``/response_url body, ack body or view."""
    found: list[str] = []
    text = message.get("text")
    if isinstance(text, str) and message.get("mrkdwn", True):
        found.append(text)
    for key in ("blocks", "view"):
        found += _walk(message.get(key))
    return found


def _walk(node: Any) -> list[str]:
    if isinstance(node, list):
        return [t for item in node for t in _walk(item)]
    if not isinstance(node, dict):
        return []
    if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
        return [node["text"]]
    skip = {"value", "private_metadata", "initial_value", "action_id", "block_id"}
    return [t for key, value in node.items() if key not in skip for t in _walk(value)]


def assert_pings_nobody(
    messages: Iterable[dict[str, Any]], *, hostile: Iterable[str] = HOSTILE
) -> None:
    """No hostile token reaches mrkdwn, and nothing is escaped twice."""
    bad = tuple(hostile)
    for message in messages:
        for text in mrkdwn_texts(message):
            for token in bad:
                assert token not in text, f"{token!r} reaches mrkdwn: {text[:300]!r}"
            assert not DOUBLE_ESCAPED.search(text), f"escaped twice: {text[:300]!r}"


def as_json(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)
