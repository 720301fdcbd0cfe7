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


# -- Block Kit's limits ---------------------------------------------------------------------
# slack_sdk's to_dict() checks some of Slack's limits; Slack answers `invalid_blocks` (or
# `invalid_arguments`) for the rest. These are the documented limits of the elements cronops
# uses (api.slack.com/reference/block-kit), checked on the JSON the bot sends.

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
TEXT_MAX = 4000  # a message's top-level text: Slack advises at most 4,000 characters
_TOKEN = re.compile(r"<[^<>\n]*>")
_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def message_problems(message: dict[str, Any]) -> list[str]:
    """What Slack would refuse (or mangle) in a message body: [] when it is fine."""
    found: list[str] = []
    text = message.get("text")
    if text is not None:
        _text(found, "text", {"type": "mrkdwn", "text": text}, TEXT_MAX)
    if "blocks" in message:
        blocks = message["blocks"]
        _count(found, "blocks", blocks, 1, MESSAGE_BLOCKS)
        _blocks(found, blocks)
    elif not text:
        found.append("a message needs text or blocks")
    return found


def view_problems(view: dict[str, Any]) -> list[str]:
    """What Slack would refuse in a modal or a Home tab (which has no title and no buttons of
    its own)."""
    found: list[str] = []
    if view.get("type") == "home":
        found += [f"a Home tab has no {key}" for key in ("title", "submit", "close") if key in view]
    elif view.get("type") == "modal":
        _text(found, "title", view.get("title"), 24, plain=True)
        for key in ("submit", "close"):
            if key in view:
                _text(found, key, view[key], 24, plain=True)
    else:
        found.append(f"view type {view.get('type')!r}")
    _length(found, "private_metadata", view.get("private_metadata"), 3000)
    _length(found, "callback_id", view.get("callback_id"), 255)
    _count(found, "view blocks", view.get("blocks"), 1, VIEW_BLOCKS)
    _blocks(found, view.get("blocks") or [])
    return found


def assert_valid_message(message: dict[str, Any]) -> None:
    problems = message_problems(message)
    assert not problems, problems[:5]


def assert_valid_view(view: dict[str, Any]) -> None:
    problems = view_problems(view)
    assert not problems, problems[:5]


def _blocks(found: list[str], blocks: list[dict[str, Any]]) -> None:
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        found.append(f"repeated block_id: {ids}")
    for n, block in enumerate(blocks):
        where = f"block {n} ({block.get('type')})"
        _length(found, f"{where} block_id", block.get("block_id"), 255)
        check = _BLOCKS.get(str(block.get("type")))
        if check is None:
            found.append(f"{where}: unexpected block type")
        else:
            check(found, where, block)


def _section(found: list[str], where: str, block: dict[str, Any]) -> None:
    if "text" not in block and "fields" not in block:
        found.append(f"{where}: neither text nor fields")
    if "text" in block:
        _text(found, f"{where} text", block["text"], 3000)
    if "fields" in block:
        _count(found, f"{where} fields", block["fields"], 1, 10)
        for field in block["fields"]:
            _text(found, f"{where} field", field, 2000)
    if "accessory" in block:
        _element(found, f"{where} accessory", block["accessory"])


def _header(found: list[str], where: str, block: dict[str, Any]) -> None:
    _text(found, where, block.get("text"), 150, plain=True)


def _context(found: list[str], where: str, block: dict[str, Any]) -> None:
    _count(found, f"{where} elements", block.get("elements"), 1, 10)
    for element in block.get("elements") or []:
        _text(found, f"{where} element", element, 3000)


def _actions(found: list[str], where: str, block: dict[str, Any]) -> None:
    elements = block.get("elements") or []
    _count(found, f"{where} elements", elements, 1, 25)
    ids = [e.get("action_id") for e in elements if e.get("action_id")]
    if len(ids) != len(set(ids)):
        found.append(f"{where}: repeated action_id {ids}")
    for element in elements:
        _element(found, where, element)


def _input(found: list[str], where: str, block: dict[str, Any]) -> None:
    _text(found, f"{where} label", block.get("label"), 2000, plain=True)
    if "hint" in block:
        _text(found, f"{where} hint", block["hint"], 2000, plain=True)
    _element(found, where, block.get("element") or {})


def _divider(found: list[str], where: str, block: dict[str, Any]) -> None:
    return


_BLOCKS = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "input": _input,
    "divider": _divider,
}


def _element(found: list[str], where: str, element: dict[str, Any]) -> None:
    kind = element.get("type")
    where = f"{where} {kind}"
    _length(found, f"{where} action_id", element.get("action_id"), 255)
    if "placeholder" in element:
        _text(found, f"{where} placeholder", element["placeholder"], 150, plain=True)
    if "confirm" in element:
        _confirm(found, where, element["confirm"])
    if kind == "button":
        _text(found, f"{where} text", element.get("text"), 75, plain=True)
        _length(found, f"{where} value", element.get("value"), 2000)
        _length(found, f"{where} url", element.get("url"), 3000)
        if element.get("style") not in (None, "primary", "danger"):
            found.append(f"{where}: style {element.get('style')!r}")
    elif kind in ("static_select", "radio_buttons", "checkboxes"):
        _choices(found, where, element, 100 if kind == "static_select" else 10)
    elif kind == "plain_text_input":
        _text_input(found, where, element)
    elif kind == "number_input":
        _number_input(found, where, element)
    elif kind == "timepicker":
        initial = element.get("initial_time")
        if initial is not None and not re.fullmatch(r"[0-2]\d:[0-5]\d", initial):
            found.append(f"{where}: initial_time {initial!r}")
    else:
        found.append(f"{where}: unexpected element type")


def _confirm(found: list[str], where: str, confirm: dict[str, Any]) -> None:
    _text(found, f"{where} confirm title", confirm.get("title"), 100, plain=True)
    _text(found, f"{where} confirm text", confirm.get("text"), 300)
    _text(found, f"{where} confirm button", confirm.get("confirm"), 30, plain=True)
    _text(found, f"{where} deny button", confirm.get("deny"), 30, plain=True)


def _choices(found: list[str], where: str, element: dict[str, Any], most: int) -> None:
    options = element.get("options") or []
    _count(found, f"{where} options", options, 1, most)
    values = [option.get("value") for option in options]
    if len(values) != len(set(values)):
        found.append(f"{where}: repeated option values")
    for option in options:
        _text(found, f"{where} option", option.get("text"), 75, plain=True)
        value = option.get("value")
        if not isinstance(value, str) or not 1 <= len(value) <= 150:
            found.append(f"{where}: option value of {len(str(value))} characters")
    chosen = [element["initial_option"]] if element.get("initial_option") else []
    for option in chosen + list(element.get("initial_options") or []):
        if option not in options:
            found.append(f"{where}: initial option {option.get('value')!r} is not an option")


def _text_input(found: list[str], where: str, element: dict[str, Any]) -> None:
    most = element.get("max_length", 3000)
    if not 1 <= most <= 3000:
        found.append(f"{where}: max_length {most}")
    if element.get("min_length", 0) > most:
        found.append(f"{where}: min_length over max_length")
    _length(found, f"{where} initial_value", element.get("initial_value"), most)


def _number_input(found: list[str], where: str, element: dict[str, Any]) -> None:
    low, high = element.get("min_value"), element.get("max_value")
    initial = element.get("initial_value")
    if low is not None and high is not None and float(low) > float(high):
        found.append(f"{where}: min_value over max_value")
    if initial is not None:
        number = float(initial)
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            found.append(f"{where}: initial_value {initial} outside {low}..{high}")


def _text(found: list[str], where: str, obj: Any, most: int, *, plain: bool = False) -> None:
    """A text object: its type, 1..``most`` characters, not only blanks; mrkdwn balanced."""
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        found.append(f"{where}: not a text object: {obj!r:.80}")
        return
    if obj.get("type") not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        found.append(f"{where}: text type {obj.get('type')!r}")
    text: str = obj["text"]
    if not text.strip():
        found.append(f"{where}: empty text")
    if len(text) > most:
        found.append(f"{where}: {len(text)} characters, more than {most}")
    if obj.get("type") == "mrkdwn":
        _balanced(found, where, text)


def _balanced(found: list[str], where: str, text: str) -> None:
    """Every ``<`` opens a whole ``<…>`` token and every ``&`` an entity: a cut never lands
    inside a link, a mention, a date or an escaped character."""
    rest = _TOKEN.sub("", text)
    if "<" in rest or ">" in rest:
        found.append(f"{where}: unbalanced < or >: {text[:120]!r}…")
    if _ENTITY.search(text):
        found.append(f"{where}: a bare & (or a cut entity): {text[:120]!r}…")


def _length(found: list[str], where: str, value: Any, most: int) -> None:
    if value is not None and len(str(value)) > most:
        found.append(f"{where}: {len(str(value))} characters, more than {most}")


def _count(found: list[str], where: str, items: Any, least: int, most: int) -> None:
    count = len(items) if isinstance(items, list) else 0
    if not least <= count <= most:
        found.append(f"{where}: {count} items, expected {least}..{most}")
