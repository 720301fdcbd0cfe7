"""manifest.yml: valid for Slack's published schema, and in step with what the code does."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).parent / "data" / "slack-manifest" / "manifest.schema.1.0.0.json"

#: Web API method (as the SDK spells it) -> the bot scopes that allow it; () = none needed.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat_postMessage": ("chat:write",),
    "chat_update": ("chat:write",),
    "chat_postEphemeral": ("chat:write",),
    "views_open": (),
    "views_update": (),
    "views_push": (),
    "views_publish": (),
    "conversations_history": ("channels:history", "groups:history"),
    "conversations_replies": ("channels:history", "groups:history"),
    "usergroups_users_list": ("usergroups:read",),
    # public channels need channels:read, private ones groups:read: both are used
    "users_conversations": ("channels:read", "groups:read"),
}
WEB_API_CALL = re.compile(
    r"\.((?:chat|views|conversations|usergroups|users|reactions|pins)_[A-Za-z_]+)\("
)
COMMAND = re.compile(r"\.command\(\s*\"(/[a-z0-9_-]+)\"\s*\)")
INTERACTIVE = re.compile(r"\.(action|view|shortcut|options)\(")
EVENT = re.compile(r"\.event\(\s*\"([a-z_]+)\"\s*\)")


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return loaded


def code() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "bot").rglob("*.py")))


def problems(app: dict[str, Any], source: str) -> list[str]:
    """Everything the manifest and the code disagree on."""
    found: list[str] = []
    declared = {c["command"] for c in app.get("features", {}).get("slash_commands", [])}
    handled = set(COMMAND.findall(source))
    found += [f"{c} is handled in code but not declared" for c in sorted(handled - declared)]
    found += [f"{c} is declared but no listener handles it" for c in sorted(declared - handled)]
    interactive = app.get("settings", {}).get("interactivity", {}).get("is_enabled", False)
    if INTERACTIVE.search(source) and not interactive:
        found.append("the code registers buttons or modals but interactivity is off")
    events = set(app.get("settings", {}).get("event_subscriptions", {}).get("bot_events", []))
    listened = set(EVENT.findall(source))
    found += [f"{e} is handled in code but not subscribed" for e in sorted(listened - events)]
    found += [f"{e} is subscribed but no listener handles it" for e in sorted(events - listened)]
    home = app.get("features", {}).get("app_home", {}).get("home_tab_enabled", False)
    if ("views_publish" in source or "app_home_opened" in listened) and not home:
        found.append("the code publishes a Home tab but the manifest does not enable it")
    scopes = set(app.get("oauth_config", {}).get("scopes", {}).get("bot", []))
    if declared and "commands" not in scopes:
        found.append("slash commands need the `commands` scope")
    for method in sorted(set(WEB_API_CALL.findall(source))):
        if method not in METHOD_SCOPES:
            found.append(f"{method} is called but this test does not know its scope")
        elif METHOD_SCOPES[method] and not scopes & set(METHOD_SCOPES[method]):
            found.append(f"{method} needs one of {METHOD_SCOPES[method]}")
    return found


def test_the_manifest_is_valid_for_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(manifest()), key=lambda e: e.path)
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_manifest_and_the_code_agree() -> None:
    assert problems(manifest(), code()) == []


def test_every_scope_is_used_by_the_code() -> None:
    used = {s for m in WEB_API_CALL.findall(code()) for s in METHOD_SCOPES.get(m, ())}
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    unneeded = scopes - used - {"commands", "chat:write.public"}
    assert unneeded == set(), f"scopes nothing needs: {unneeded}"


def test_removing_the_command_from_the_manifest_is_caught() -> None:
    app = copy.deepcopy(manifest())
    app["features"]["slash_commands"] = []
    assert "/cron is handled in code but not declared" in problems(app, code())


def test_a_missing_scope_is_caught() -> None:
    app = copy.deepcopy(manifest())
    app["oauth_config"]["scopes"]["bot"].remove("usergroups:read")
    assert any("usergroups_users_list" in p for p in problems(app, code()))


def test_removing_the_home_tab_or_its_event_is_caught() -> None:
    app = copy.deepcopy(manifest())
    app["settings"]["event_subscriptions"]["bot_events"].remove("app_home_opened")
    app["features"]["app_home"]["home_tab_enabled"] = False
    found = problems(app, code())
    assert "app_home_opened is handled in code but not subscribed" in found
    assert "the code publishes a Home tab but the manifest does not enable it" in found


def test_a_missing_membership_scope_is_caught() -> None:
    app = copy.deepcopy(manifest())
    for scope in ("channels:read", "groups:read"):
        app["oauth_config"]["scopes"]["bot"].remove(scope)
    assert any("users_conversations" in p for p in problems(app, code()))


def test_an_invalid_manifest_fails_the_schema() -> None:
    app = copy.deepcopy(manifest())
    app["features"]["slash_commands"][0]["command"] = "cron without slash"
    app["display_information"]["name"] = ""
    schema = json.loads(SCHEMA.read_text())
    assert list(Draft7Validator(schema).iter_errors(app))


@pytest.mark.parametrize("mode", ["socket", "http"])
def test_both_modes_are_documented_in_the_manifest(mode: str) -> None:
    text = (ROOT / "manifest.yml").read_text()
    assert ("socket_mode_enabled: true" in text) if mode == "socket" else ("request_url:" in text)
