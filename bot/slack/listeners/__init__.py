"""Slack listeners: thin handlers that parse, check access, call the service and render."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.deps import Deps
from bot.slack.listeners import actions, alerts, cron, home, modals
from bot.slack.listeners.context import Registrar, return_on_ack


def register(app: AsyncApp, deps: Deps, *, ack_first: bool) -> None:
    """Register every listener; in ack-first mode each returns to Bolt as soon as it acked."""
    target = Registrar(
        app, (lambda listener: return_on_ack(deps.inflight, listener)) if ack_first else None
    )
    cron.register(target, deps)
    actions.register(target, deps)
    modals.register(target, deps)
    alerts.register(target, deps)
    home.register(target, deps)
