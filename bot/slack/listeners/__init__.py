"""Slack listeners: thin handlers that parse, check access, call the service and render."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.app import Deps
from bot.listeners import actions, alerts, commands, modals
from bot.listeners.context import Registrar, ack_first


def register(app: AsyncApp, deps: Deps, *, ack_first_mode: bool) -> None:
    """Register every listener; in ack-first mode each returns to Bolt as soon as it acked."""
    target = Registrar(
        app, (lambda listener: ack_first(deps, listener)) if ack_first_mode else None
    )
    commands.register(target, deps)
    actions.register(target, deps)
    modals.register(target, deps)
    alerts.register(target, deps)
