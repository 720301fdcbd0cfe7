"""The alerting half of the Store: account state, cursors, incidents, subscriptions, mutes, outbox.

:class:`AlertStore` is a mixin of :class:`bot.store.Store`, which brings the engine, the
sessions and the dialect's ``insert``. Every decision that must be taken once across
processes — the first poll, an outage starting or ending, an incident opening, resolving or
being acknowledged, a message being enqueued — is one compare-and-set statement, so of two
pollers racing only one sees ``True`` (or a record) and the other ``False`` (or None).
Free text that may carry a secret (errors, failure details, message payloads) is scrubbed
before it is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, delete, exists, false, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.db_models import (
    AccountState,
    AccountStateRow,
    Cursor,
    Incident,
    IncidentRow,
    JobCursor,
    Mute,
    MuteRow,
    OutboxItem,
    OutboxRow,
    Subscription,
    SubscriptionRow,
    UTCDateTime,
    to_record,
)
from providers.redact import safe_url, scrub_payload, secrets

_CURSOR_FIELDS = [f.name for f in fields(Cursor)]  # account, job_id, then the values
_CHUNK = 500  # rows or bound ids per statement
OUTBOX_KINDS = frozenset({"post", "update", "reply"})
SUPERSEDED = "superseded"


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


class AlertStore:
    """What the poller and the notifier remember. Mixed into :class:`bot.store.Store`."""

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

    # -- account state ----------------------------------------------------------------------
    async def account_state(self, account: str) -> AccountState | None:
        async with self._session() as session:
            row = await session.get(AccountStateRow, account)
            return None if row is None else to_record(AccountState, row)

    async def account_states(self) -> list[AccountState]:
        query = select(AccountStateRow).order_by(AccountStateRow.account)
        async with self._session() as session:
            return [to_record(AccountState, row) for row in await session.scalars(query)]

    async def mark_first_poll(self, account: str, now: datetime) -> bool:
        """Record the first poll of ``account``; True for the one caller that recorded it.

        A restart is not a first start: the row outlives the process.
        """
        insert = self._insert(AccountStateRow).values(
            account=account, first_polled_at=now, reachable=True, last_requests=0
        )
        stmt = insert.on_conflict_do_update(
            index_elements=[AccountStateRow.account],
            set_={"first_polled_at": insert.excluded.first_polled_at},
            where=AccountStateRow.first_polled_at.is_(None),
        ).returning(AccountStateRow.account)
        async with self._write() as session:
            return (await session.execute(stmt)).first() is not None

    async def set_reachable(
        self, account: str, reachable: bool, now: datetime, error: str | None = None
    ) -> bool:
        """Set whether ``account`` answers; True only for the call that changed it.

        Going down starts the outage (``outage_since``), coming back ends it. ``last_error``
        is kept current either way.
        """
        create = (
            self._insert(AccountStateRow)
            .values(account=account, reachable=True, last_requests=0)
            .on_conflict_do_nothing()
        )
        this_account = AccountStateRow.account == account
        flip = (
            update(AccountStateRow)
            .where(this_account, AccountStateRow.reachable != reachable)
            .values(reachable=reachable, outage_since=None if reachable else now)
        )
        note = update(AccountStateRow).where(this_account).values(last_error=_scrub(error))
        async with self._write() as session:
            await session.execute(create)
            changed = _changed(await session.execute(flip)) == 1
            await session.execute(note)
        return changed

    async def record_poll(
        self,
        account: str,
        now: datetime,
        *,
        ok: bool,
        requests: int,
        interval_s: float | None = None,
    ) -> None:
        """How the latest poll went; ``interval_s`` None keeps the interval already recorded."""
        values: dict[str, Any] = {"last_poll_at": now, "last_requests": requests}
        if ok:
            values["last_success_at"] = now
        if interval_s is not None:
            values["poll_interval_s"] = interval_s
        insert = self._insert(AccountStateRow).values(account=account, reachable=True, **values)
        stmt = insert.on_conflict_do_update(
            index_elements=[AccountStateRow.account],
            set_={name: insert.excluded[name] for name in values},
        )
        async with self._write() as session:
            await session.execute(stmt)

    async def add_poll_requests(self, account: str, requests: int) -> None:
        """Count requests made after the poll was recorded (its history reads)."""
        stmt = (
            update(AccountStateRow)
            .where(AccountStateRow.account == account)
            .values(last_requests=AccountStateRow.last_requests + requests)
        )
        async with self._write() as session:
            await session.execute(stmt)

    # -- cursors ----------------------------------------------------------------------------
    async def cursors(self, account: str) -> dict[str, Cursor]:
        """The cursors of ``account`` by job id (plain rows: thousands are read each poll)."""
        columns = [getattr(JobCursor, name) for name in _CURSOR_FIELDS]
        query = select(*columns).where(JobCursor.account == account)
        async with self.engine.connect() as connection:  # Core rows: no ORM identity map
            rows = await connection.execute(query)
            return {row.job_id: Cursor(*row) for row in rows}

    async def save_cursor(
        self,
        account: str,
        job_id: str,
        *,
        last_id: str | None,
        last_run: datetime | None,
        last_result: str,
        streak: int,
        now: datetime,
    ) -> None:
        await self.save_cursors(
            [Cursor(account, job_id, last_id, last_run, last_result, streak, now)]
        )

    async def save_cursors(self, cursors: Sequence[Cursor]) -> None:
        """Insert or replace many cursors in one transaction."""
        if not cursors:
            return
        insert = self._insert(JobCursor)
        stmt = insert.on_conflict_do_update(
            index_elements=[JobCursor.account, JobCursor.job_id],
            set_={name: insert.excluded[name] for name in _CURSOR_FIELDS[2:]},
        )
        rows = [{name: getattr(c, name) for name in _CURSOR_FIELDS} for c in cursors]
        async with self._write() as session:
            for start in range(0, len(rows), _CHUNK):
                await session.execute(stmt, rows[start : start + _CHUNK])

    async def drop_cursors(self, account: str, keep: Collection[str]) -> int:
        """Forget the jobs of ``account`` not in ``keep`` (deleted jobs); how many were."""
        kept = set(keep)
        query = select(JobCursor.job_id).where(JobCursor.account == account)
        async with self._write() as session:
            stale = [job_id for job_id in await session.scalars(query) if job_id not in kept]
            for start in range(0, len(stale), _CHUNK):  # within every database's bound limits
                chunk = stale[start : start + _CHUNK]
                await session.execute(
                    delete(JobCursor).where(
                        JobCursor.account == account, JobCursor.job_id.in_(chunk)
                    )
                )
            return len(stale)

    # -- incidents --------------------------------------------------------------------------
    async def open_incident(
        self,
        account: str,
        job_id: str,
        *,
        ref: str,
        job_name: str,
        now: datetime,
        failures: int,
        detail: Mapping[str, Any],
        muted: bool = False,
    ) -> Incident | None:
        """Open the job's incident; None if one is open already (the database decides)."""
        stmt = (
            self._insert(IncidentRow)
            .values(
                account=account,
                job_id=job_id,
                ref=ref,
                job_name=job_name,
                status="open",
                opened_at=now,
                last_seen_at=now,
                failures=failures,
                detail=_scrub_json(detail),
                muted=muted,
            )
            .on_conflict_do_nothing()
            .returning(IncidentRow)
        )
        async with self._write() as session:
            row = (await session.scalars(stmt)).one_or_none()
            return None if row is None else to_record(Incident, row)

    async def current_incident(self, account: str, job_id: str) -> Incident | None:
        """The job's open incident, if any."""
        query = select(IncidentRow).where(
            IncidentRow.account == account,
            IncidentRow.job_id == job_id,
            IncidentRow.status == "open",
        )
        async with self._session() as session:
            row = await session.scalar(query)
            return None if row is None else to_record(Incident, row)

    async def incident(self, incident_id: int) -> Incident | None:
        async with self._session() as session:
            row = await session.get(IncidentRow, incident_id)
            return None if row is None else to_record(Incident, row)

    async def open_incidents(self, account: str | None = None) -> list[Incident]:
        """Open incidents, oldest first; of one account if given."""
        query = select(IncidentRow).where(IncidentRow.status == "open")
        if account is not None:
            query = query.where(IncidentRow.account == account)
        query = query.order_by(IncidentRow.opened_at, IncidentRow.id)
        async with self._session() as session:
            return [to_record(Incident, row) for row in await session.scalars(query)]

    async def add_failures(
        self, incident_id: int, n: int, now: datetime, detail: Mapping[str, Any]
    ) -> Incident | None:
        """Count ``n`` more failures of an open incident; None once it is resolved."""
        return await self._update_open(
            incident_id,
            failures=IncidentRow.failures + n,
            last_seen_at=now,
            detail=_scrub_json(detail),
        )

    async def resolve_incident(self, incident_id: int, now: datetime) -> Incident | None:
        """Resolve an open incident; None if it was not open (someone else resolved it)."""
        return await self._update_open(incident_id, status="resolved", resolved_at=now)

    async def acknowledge(self, incident_id: int, user: str, now: datetime) -> Incident | None:
        """The first acknowledgement of an open incident; None if acked already or resolved."""
        return await self._update_open(
            incident_id, IncidentRow.acked_by.is_(None), acked_by=user, acked_at=now
        )

    async def _update_open(
        self, incident_id: int, *conditions: Any, **values: Any
    ) -> Incident | None:
        stmt = (
            update(IncidentRow)
            .where(IncidentRow.id == incident_id, IncidentRow.status == "open", *conditions)
            .values(**values)
            .returning(IncidentRow)
        )
        async with self._write() as session:
            row = (await session.scalars(stmt)).one_or_none()
            return None if row is None else to_record(Incident, row)

    # -- subscriptions ----------------------------------------------------------------------
    async def subscribe(self, channel: str, target: str, user: str, now: datetime) -> bool:
        """Subscribe ``channel`` to ``target`` as typed; False if it was, in any letter case."""
        taken = exists().where(
            SubscriptionRow.channel == channel,
            func.lower(SubscriptionRow.target) == func.lower(literal(target)),
        )
        row = select(
            literal(channel), literal(target), literal(user), literal(now, UTCDateTime())
        ).where(~taken)
        stmt = (
            self._insert(SubscriptionRow)
            .from_select(["channel", "target", "created_by", "created_at"], row)
            .on_conflict_do_nothing()
            .returning(SubscriptionRow.id)
        )
        async with self._write() as session:
            return (await session.execute(stmt)).first() is not None

    async def unsubscribe(self, channel: str, target: str) -> bool:
        """Unsubscribe ``channel`` from ``target`` (any letter case); False if it was not."""
        stmt = delete(SubscriptionRow).where(
            SubscriptionRow.channel == channel,
            func.lower(SubscriptionRow.target) == func.lower(literal(target)),
        )
        async with self._write() as session:
            return _changed(await session.execute(stmt)) > 0

    async def subscriptions(self, channel: str | None = None) -> list[Subscription]:
        query = select(SubscriptionRow).order_by(SubscriptionRow.channel, SubscriptionRow.id)
        if channel is not None:
            query = query.where(SubscriptionRow.channel == channel)
        async with self._session() as session:
            return [to_record(Subscription, row) for row in await session.scalars(query)]

    # -- mutes ------------------------------------------------------------------------------
    async def mute(self, ref: str, until: datetime | None, user: str, now: datetime) -> Mute:
        """Mute ``ref`` until ``until`` (None: until it recovers); replaces an earlier mute."""
        values = {"until": until, "created_by": user, "created_at": now}
        insert = self._insert(MuteRow).values(ref=ref, **values)
        stmt = insert.on_conflict_do_update(
            index_elements=[MuteRow.ref], set_={name: insert.excluded[name] for name in values}
        )
        async with self._write() as session:
            await session.execute(stmt)
        return Mute(ref=ref, until=until, created_by=user, created_at=now)

    async def unmute(self, ref: str) -> bool:
        async with self._write() as session:
            return _changed(await session.execute(delete(MuteRow).where(MuteRow.ref == ref))) > 0

    async def active_mute(self, ref: str, now: datetime) -> Mute | None:
        query = select(MuteRow).where(
            MuteRow.ref == ref, MuteRow.until.is_(None) | (MuteRow.until > now)
        )
        async with self._session() as session:
            row = await session.scalar(query)
            return None if row is None else to_record(Mute, row)

    async def active_mutes(self, now: datetime) -> dict[str, Mute]:
        """Every mute in force at ``now``, by ref."""
        query = select(MuteRow).where(MuteRow.until.is_(None) | (MuteRow.until > now))
        async with self._session() as session:
            return {row.ref: to_record(Mute, row) for row in await session.scalars(query)}

    async def end_recovery_mute(self, ref: str) -> bool:
        """The job recovered: end its "until it recovers" mute; a timed mute stays."""
        stmt = delete(MuteRow).where(MuteRow.ref == ref, MuteRow.until.is_(None))
        async with self._write() as session:
            return _changed(await session.execute(stmt)) > 0

    # -- outbox -----------------------------------------------------------------------------
    async def enqueue(
        self,
        key: str,
        kind: str,
        channel: str,
        payload: Mapping[str, Any],
        *,
        now: datetime,
        target_key: str | None = None,
        incident_id: int | None = None,
    ) -> bool:
        """Queue a Slack message under an idempotency ``key``; False (a no-op) if queued before.

        ``update`` and ``reply`` need ``target_key``: the key of the post they refer to.
        """
        if kind not in OUTBOX_KINDS:
            raise ValueError(f"outbox kind {kind!r}; use one of {sorted(OUTBOX_KINDS)}")
        if kind != "post" and target_key is None:
            raise ValueError(f"an outbox {kind} needs the target_key of its post")
        stmt = (
            self._insert(OutboxRow)
            .values(
                key=key,
                kind=kind,
                channel=channel,
                payload=_scrub_json(payload),
                target_key=target_key,
                incident_id=incident_id,
                created_at=now,
                next_attempt_at=now,
                attempts=0,
                gave_up=False,
            )
            .on_conflict_do_nothing(index_elements=[OutboxRow.key])
            .returning(OutboxRow.id)
        )
        async with self._write() as session:
            return (await session.execute(stmt)).first() is not None

    async def due_outbox(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Unsent messages due by ``now``, in the order they were queued."""
        query = (
            select(OutboxRow)
            .where(_pending(), OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        async with self._session() as session:
            return [to_record(OutboxItem, row) for row in await session.scalars(query)]

    async def begin_attempt(self, item_id: int, now: datetime) -> int:
        """Count an attempt to send; the attempts made BEFORE this one.

        More than 0 means an earlier attempt may have reached Slack: look for that post before
        posting again. ``now`` (when the attempt starts) is not stored: the count is the fact.
        """
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(attempts=OutboxRow.attempts + 1)
            .returning(OutboxRow.attempts)
        )
        async with self._write() as session:
            attempts = (await session.execute(stmt)).scalar_one_or_none()
        if attempts is None:
            raise LookupError(f"no outbox item {item_id}")
        return attempts - 1

    async def mark_sent(self, item_id: int, now: datetime, ts: str | None) -> None:
        stmt = (
            update(OutboxRow).where(OutboxRow.id == item_id).values(sent_at=now, ts=ts, error=None)
        )
        async with self._write() as session:
            await session.execute(stmt)

    async def mark_retry(self, item_id: int, next_at: datetime, error: str) -> None:
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.sent_at.is_(None))
            .values(next_attempt_at=next_at, error=_scrub(error))
        )
        async with self._write() as session:
            await session.execute(stmt)

    async def give_up(self, item_id: int, error: str) -> None:
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.sent_at.is_(None))
            .values(gave_up=True, error=_scrub(error))
        )
        async with self._write() as session:
            await session.execute(stmt)

    async def sent_post(self, key: str) -> tuple[str, str] | None:
        """(channel, ts) of the message sent under ``key``, for its updates and replies."""
        query = select(OutboxRow.channel, OutboxRow.ts).where(
            OutboxRow.key == key, OutboxRow.sent_at.is_not(None), OutboxRow.ts.is_not(None)
        )
        async with self._session() as session:
            row = (await session.execute(query)).first()
        return None if row is None or row.ts is None else (row.channel, row.ts)

    async def pending_key(self, key: str) -> bool:
        """Whether a message queued under ``key`` is still to be sent (not sent, not given up)."""
        query = select(OutboxRow.id).where(OutboxRow.key == key, _pending())
        async with self._session() as session:
            return (await session.scalar(query)) is not None

    async def supersede_updates(self, target_key: str, keep_id: int) -> int:
        """Skip the unsent updates of ``target_key`` older than ``keep_id``; how many.

        Only the newest rendering of a message needs sending. The skipped ones count as sent
        (``ts`` None, error "superseded") when ``keep_id`` was queued.
        """
        keep = aliased(OutboxRow)
        kept_at = (
            select(keep.created_at)
            .where(keep.id == keep_id, keep.kind == "update", keep.target_key == target_key)
            .scalar_subquery()
        )
        stmt = (
            update(OutboxRow)
            .where(
                _pending(),
                OutboxRow.kind == "update",
                OutboxRow.target_key == target_key,
                OutboxRow.id < keep_id,
                kept_at.is_not(None),
            )
            .values(sent_at=kept_at, ts=None, error=SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            return _changed(await session.execute(stmt))

    async def outbox_depth(self) -> int:
        """Messages still to send (not sent, not given up)."""
        query = select(func.count()).select_from(OutboxRow).where(_pending())
        async with self._session() as session:
            return (await session.scalar(query)) or 0


def _pending() -> Any:
    return (OutboxRow.sent_at.is_(None)) & (OutboxRow.gave_up == false())
