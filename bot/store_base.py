"""What the Store's mixins share: the transaction machinery and the scrubbing of free text.

:class:`StoreBase` declares what :class:`bot.store.Store` brings (the engine, the sessions and
the dialect's ``insert``) and owns :meth:`~StoreBase.unit`, the one transaction a whole poll
is written in. :class:`bot.store_alerts.AlertStore` and
:class:`bot.store_delivery.DeliveryStore` build on it. Free text that may carry a secret
(errors, failure details, message payloads) goes through :func:`_scrub` or
:func:`_scrub_json` before it is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from providers.redact import safe_url, scrub_payload, secrets


def _scrub(text: str | None) -> str | None:
    return None if text is None else secrets.scrub(text)


def _scrub_json(value: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without known secrets, sensitive keys' values or credentials in a ``url``."""
    cleaned = cast(dict[str, Any], scrub_payload(dict(value)))
    if isinstance(cleaned.get("url"), str):
        cleaned["url"] = safe_url(cleaned["url"])
    return cleaned


def _changed(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


_UNIT: ContextVar[tuple[object, AsyncSession] | None] = ContextVar("store_unit", default=None)


def _in_unit(store: object) -> AsyncSession | None:
    current = _UNIT.get()
    return current[1] if current is not None and current[0] is store else None


class StoreBase:
    """Transactions shared by the mixins of :class:`bot.store.Store`."""

    engine: AsyncEngine
    _session: async_sessionmaker[AsyncSession]

    if TYPE_CHECKING:

        def _insert(self, model: type[Any]) -> Any: ...

    # -- transactions -----------------------------------------------------------------------
    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        """Make the writes inside one transaction: all of them land, or none.

        The poller applies a whole poll this way — every incident it opens, updates or
        resolves and every cursor it moves — so a crash replays the poll exactly, and a
        thousand writes cost one commit. Reads inside see only what was committed before.
        """
        if _in_unit(self) is not None:
            yield
            return
        async with self._session.begin() as session:
            token = _UNIT.set((self, session))
            try:
                yield
            finally:
                _UNIT.reset(token)

    def _unit_session(self) -> AsyncSession | None:
        return _in_unit(self)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """The unit's session if one is open (in this task, on this store), else a new one."""
        session = _in_unit(self)
        if session is not None:
            yield session
            return
        async with self._session.begin() as session:
            yield session
