"""Slack listeners: thin handlers that parse, check access, call the service and render."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.app import Deps
from bot.listeners import actions, alerts, commands, modals


def register(app: AsyncApp, deps: Deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    modals.register(app, deps)
    alerts.register(app, deps)
