"""What the poller and the notifier remember, on SQLite and (when CRONOPS_TEST_POSTGRES_URL is
set) PostgreSQL.

Account state, cursors, incidents, subscriptions, mutes and the outbox: compare-and-set under
concurrency (two stores stand for two processes), restarts, and the 0001 -> 0002 migration.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from bot.store import Store
from bot.store.db import alembic_config
from bot.store.tables import Cursor, Incident
from providers.redact import MASK, secrets
from tests.store.stores import OpenStore

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
ALERT_TABLES = {"account_state", "job_cursor", "incident", "subscription", "mute", "outbox"}
DETAIL = {"http_status": 500, "status_text": "Internal Server Error", "duration_ms": 812}


async def open_incident(store: Store, job_id: str = "1", **changes: Any) -> Incident | None:
    args: dict[str, Any] = {
        "ref": f"prod:{job_id}", "job_name": f"backup {job_id}", "now": NOW, "failures": 2,
        "detail": DETAIL,
    }  # fmt: skip
    return await store.incidents.open(changes.pop("account", "prod"), job_id, **args | changes)


async def opened(store: Store, job_id: str = "1", **changes: Any) -> Incident:
    incident = await open_incident(store, job_id, **changes)
    assert incident is not None
    return incident


# -- migration 0002 -------------------------------------------------------------------------
def _alembic(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def migrate_to(store: Store, action: str, revision: str) -> set[str]:
    async with store.engine.begin() as connection:
        await connection.run_sync(_alembic, action, revision)
        return await connection.run_sync(_tables)


async def _budget_row(store: Store) -> None:
    async with store.engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO request_budget (account, day, used) VALUES ('prod', :day, 1)"),
            {"day": NOW.date()},
        )


async def _used_then(store: Store) -> int:
    async with store.engine.connect() as connection:
        return int((await connection.execute(text("SELECT used FROM request_budget"))).scalar_one())


async def test_0002_adds_the_alert_tables_to_a_0001_database_and_keeps_its_data(
    open_store: OpenStore,
) -> None:
    old = await open_store(migrate=False)
    assert not await migrate_to(old, "upgrade", "0001") & ALERT_TABLES
    await _budget_row(old)  # as 0001 knew the table: no poll count yet
    await old.meta.set("first_poll_done:prod", "yes")
    await old.audit.record(at=NOW, user_id="U1", action="pause", ref="prod:1")
    await old.close()

    store = await open_store()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert await store.schema_revision() == head  # and on to the head
    assert await store.budget.used("prod", NOW.date()) == 1
    assert await store.meta.get("first_poll_done:prod") == "yes"
    assert [e.ref for e in await store.audit.recent()] == ["prod:1"]
    assert (await opened(store)).status == "open"

    assert not await migrate_to(store, "downgrade", "0001") & ALERT_TABLES
    assert await _used_then(store) == 1
    assert await migrate_to(store, "upgrade", "head") >= ALERT_TABLES
    assert await store.incidents.all_open() == []


def test_the_alert_ddl_can_be_reviewed_and_enforces_one_open_incident_per_job() -> None:
    config = alembic_config("postgresql://cronops@db/cronops")
    config.output_buffer = io.StringIO()
    command.upgrade(config, "0001:0002", sql=True)
    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE outbox" in sql
    assert (
        "CREATE UNIQUE INDEX uq_incident_open ON incident (account, job_id) WHERE status = 'open'"
        in sql
    )


# -- account state --------------------------------------------------------------------------
async def test_the_first_poll_is_marked_once_even_across_a_restart(open_store: OpenStore) -> None:
    store = await open_store()
    assert await store.accounts.state("prod") is None
    assert await store.accounts.mark_first_poll("prod", NOW) is True
    assert await store.accounts.mark_first_poll("prod", NOW + MINUTE) is False
    await store.close()

    again = await open_store()
    assert await again.accounts.mark_first_poll("prod", NOW + 2 * MINUTE) is False
    state = await again.accounts.state("prod")
    assert state is not None
    assert (state.first_polled_at, state.reachable, state.last_requests) == (NOW, True, 0)
    assert state.first_polled_at is not None
    assert state.first_polled_at.tzinfo is UTC


async def test_an_account_seen_before_its_first_poll_is_still_first_polled_once(
    store: Store,
) -> None:
    await store.accounts.set_reachable("prod", True, NOW)
    await store.accounts.record_poll("prod", NOW, ok=False, requests=1)
    assert await store.accounts.mark_first_poll("prod", NOW) is True
    assert await store.accounts.mark_first_poll("prod", NOW) is False


async def test_only_one_of_many_concurrent_pollers_does_the_first_poll(
    open_store: OpenStore,
) -> None:
    one, two = await open_store(), await open_store()
    results = await asyncio.gather(
        *[(one if i % 2 else two).accounts.mark_first_poll("prod", NOW) for i in range(20)]
    )
    assert sorted(results) == [False] * 19 + [True]


async def test_an_outage_starts_and_ends_once_and_keeps_its_last_error(store: Store) -> None:
    assert (
        await store.accounts.set_reachable("prod", True, NOW) is False
    )  # a new account is reachable
    assert (
        await store.accounts.set_reachable("prod", False, NOW, "cron-job.org rejected the key")
        is True
    )
    assert await store.accounts.set_reachable("prod", False, NOW + MINUTE, "timed out") is False

    down = await store.accounts.state("prod")
    assert down is not None
    assert (down.reachable, down.outage_since, down.last_error) == (False, NOW, "timed out")
    assert down.outage_since is not None
    assert down.outage_since.tzinfo is UTC

    assert await store.accounts.set_reachable("prod", True, NOW + 2 * MINUTE) is True
    assert await store.accounts.set_reachable("prod", True, NOW + 3 * MINUTE) is False
    back = await store.accounts.state("prod")
    assert back is not None
    assert (back.reachable, back.outage_since, back.last_error) == (True, None, None)


async def test_concurrent_pollers_report_an_outage_and_its_end_exactly_once(
    open_store: OpenStore,
) -> None:
    one, two = await open_store(), await open_store()
    down = await asyncio.gather(
        *[
            (one if i % 2 else two).accounts.set_reachable("prod", False, NOW, "down")
            for i in range(20)
        ]
    )
    assert sorted(down) == [False] * 19 + [True]
    back = await asyncio.gather(
        *[(one if i % 2 else two).accounts.set_reachable("prod", True, NOW) for i in range(20)]
    )
    assert sorted(back) == [False] * 19 + [True]


async def test_an_error_is_stored_without_the_secrets_it_mentions(store: Store) -> None:
    secrets.add("sk-test-reach-4c3b2a")
    await store.accounts.set_reachable("prod", False, NOW, "key sk-test-reach-4c3b2a was rejected")
    state = await store.accounts.state("prod")
    assert state is not None
    assert state.last_error == f"key {MASK} was rejected"


async def test_polls_record_requests_success_and_interval(store: Store) -> None:
    await store.accounts.record_poll("prod", NOW, ok=True, requests=3, interval_s=60.0)
    await store.accounts.record_poll("prod", NOW + MINUTE, ok=False, requests=1)
    await store.accounts.record_poll("hub", NOW, ok=True, requests=2)

    hub, prod = await store.accounts.states()
    assert (prod.account, prod.last_poll_at, prod.last_success_at) == ("prod", NOW + MINUTE, NOW)
    assert (prod.last_requests, prod.poll_interval_s, prod.first_polled_at) == (1, 60.0, None)
    assert (hub.account, hub.last_requests, hub.poll_interval_s) == ("hub", 2, None)
    assert hub.last_success_at is not None
    assert hub.last_success_at.tzinfo is UTC


# -- cursors --------------------------------------------------------------------------------
async def test_cursors_are_saved_replaced_and_dropped_with_their_jobs(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    for job_id in ("1", "2", "3"):
        await store.cursors.save(
            "prod", job_id, last_id=f"e{job_id}", last_run=NOW, last_result="ok", streak=0, now=NOW
        )
    await store.cursors.save(
        "prod", "2", last_id="e9", last_run=NOW + MINUTE, last_result="failed", streak=2,
        now=NOW + MINUTE,
    )  # fmt: skip
    await store.cursors.save(
        "hub", "1", last_id=None, last_run=None, last_result="unknown", streak=0, now=NOW
    )
    await store.close()

    store = await open_store()
    cursors = await store.cursors.of("prod")
    assert sorted(cursors) == ["1", "2", "3"]
    two = cursors["2"]
    assert (two.last_id, two.last_run, two.last_result, two.streak) == (
        "e9",
        NOW + MINUTE,
        "failed",
        2,
    )
    assert two.updated_at == NOW + MINUTE
    assert two.last_run is not None
    assert two.last_run.tzinfo is UTC

    assert await store.cursors.drop("prod", keep={"2"}) == 2
    assert list(await store.cursors.of("prod")) == ["2"]
    assert await store.cursors.drop("prod", keep=[]) == 1
    assert await store.cursors.of("prod") == {}
    assert (await store.cursors.of("hub"))["1"].last_id is None


async def test_thousands_of_cursors_are_written_and_dropped_in_bulk(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    many = [Cursor("prod", str(i), f"e{i}", NOW, "ok", 0, NOW) for i in range(1_234)]
    await store.cursors.save_many(many)
    await store.cursors.save_many([Cursor("prod", "7", "e70", NOW + MINUTE, "failed", 1, NOW)])
    cursors = await store.cursors.of("prod")
    assert len(cursors) == 1_234
    assert (cursors["7"].last_id, cursors["7"].streak) == ("e70", 1)
    assert cursors["1233"] == many[-1]
    keep = {str(i) for i in range(0, 1_234, 2)}  # more stale ids than one statement binds
    assert await store.cursors.drop("prod", keep=keep) == 617
    assert set(await store.cursors.of("prod")) == keep


# -- incidents ------------------------------------------------------------------------------
async def test_a_job_has_one_open_incident_at_a_time(store: Store) -> None:
    first = await opened(store)
    assert (first.status, first.failures, first.detail, first.muted) == ("open", 2, DETAIL, False)
    assert (first.ref, first.job_name, first.acked_by, first.resolved_at) == (
        "prod:1",
        "backup 1",
        None,
        None,
    )
    assert first.opened_at == first.last_seen_at == NOW
    assert first.opened_at.tzinfo is UTC
    assert await open_incident(store) is None
    other = await opened(store, account="hub", muted=True)
    assert other.muted is True

    assert await store.incidents.current("prod", "1") == first
    assert await store.incidents.get(first.id) == first
    assert await store.incidents.get(first.id + 1000) is None
    assert [i.id for i in await store.incidents.all_open()] == [first.id, other.id]
    assert await store.incidents.all_open("hub") == [other]

    resolved = await store.incidents.resolve(first.id, NOW + MINUTE)
    assert resolved is not None
    assert (resolved.status, resolved.resolved_at) == ("resolved", NOW + MINUTE)
    assert await store.incidents.current("prod", "1") is None
    second = await opened(store, now=NOW + 2 * MINUTE)
    assert second.id != first.id
    assert await store.incidents.get(first.id) == resolved


async def test_only_one_of_twenty_concurrent_openings_opens_the_incident(
    open_store: OpenStore,
) -> None:
    one, two = await open_store(), await open_store()
    results = await asyncio.gather(
        *[open_incident(one if i % 2 else two, failures=i) for i in range(20)]
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await one.incidents.all_open() == winners


async def test_further_failures_count_up_while_the_incident_is_open(store: Store) -> None:
    incident = await opened(store)
    later = {**DETAIL, "http_status": 503}
    updated = await store.incidents.add_failures(incident.id, 3, NOW + MINUTE, later)
    assert updated is not None
    assert (updated.failures, updated.last_seen_at, updated.detail) == (5, NOW + MINUTE, later)
    assert updated.opened_at == NOW

    await store.incidents.resolve(incident.id, NOW + 2 * MINUTE)
    assert await store.incidents.add_failures(incident.id, 1, NOW + 3 * MINUTE, DETAIL) is None
    after = await store.incidents.get(incident.id)
    assert after is not None
    assert after.failures == 5


async def test_an_incident_is_resolved_once_however_many_pollers_see_the_recovery(
    open_store: OpenStore,
) -> None:
    one, two = await open_store(), await open_store()
    incident = await opened(one)
    results = await asyncio.gather(
        *[(one if i % 2 else two).incidents.resolve(incident.id, NOW) for i in range(10)]
    )
    assert [r.status for r in results if r is not None] == ["resolved"]
    assert await one.incidents.resolve(incident.id, NOW) is None


async def test_an_incident_is_acknowledged_once_and_only_while_open(
    open_store: OpenStore,
) -> None:
    one, two = await open_store(), await open_store()
    incident = await opened(one)
    results = await asyncio.gather(
        *[
            (one if i % 2 else two).incidents.acknowledge(incident.id, f"U{i}", NOW)
            for i in range(10)
        ]
    )
    acked = [r for r in results if r is not None]
    assert len(acked) == 1
    assert acked[0].acked_at == NOW
    assert acked[0].acked_by in {f"U{i}" for i in range(10)}
    assert await one.incidents.acknowledge(incident.id, "ULATE", NOW) is None

    other = await opened(one, "2")
    await one.incidents.resolve(other.id, NOW)
    assert await one.incidents.acknowledge(other.id, "U1", NOW) is None


async def test_an_open_incident_survives_a_restart(open_store: OpenStore) -> None:
    store = await open_store()
    incident = await opened(store)
    await store.close()
    again = await open_store()
    assert await again.incidents.current("prod", "1") == incident
    assert await open_incident(again) is None


async def test_failure_details_are_stored_without_secrets(store: Store) -> None:
    secrets.add("sk-test-detail-1a2b3c")
    incident = await opened(
        store,
        detail={
            "url": "https://ops:hunter2@example.com/hook?token=abc&x=1",
            "status_text": "denied for sk-test-detail-1a2b3c",
            "password": "hunter2",
        },
    )
    stored = await store.incidents.get(incident.id)
    assert stored is not None
    assert "hunter2" not in str(stored.detail)
    assert "sk-test-detail-1a2b3c" not in str(stored.detail)
    assert stored.detail["url"].startswith("https://example.com/hook?token=")
    assert stored.detail["status_text"] == f"denied for {MASK}"


# -- subscriptions --------------------------------------------------------------------------
async def test_subscriptions_are_kept_once_per_channel_and_target_in_any_case(
    store: Store,
) -> None:
    assert await store.subscriptions.add("C1", "prod", "U1", NOW) is True
    assert await store.subscriptions.add("C1", "prod", "U2", NOW) is False
    assert await store.subscriptions.add("C1", "PROD", "U2", NOW) is False
    assert await store.subscriptions.add("C1", "Nightly Backup", "U2", NOW + MINUTE) is True
    assert await store.subscriptions.add("C2", "prod", "U3", NOW) is True

    c1 = await store.subscriptions.all("C1")
    assert [(s.channel, s.target, s.created_by) for s in c1] == [
        ("C1", "prod", "U1"),
        ("C1", "Nightly Backup", "U2"),
    ]
    assert c1[1].created_at == NOW + MINUTE
    assert c1[1].created_at.tzinfo is UTC
    assert [s.channel for s in await store.subscriptions.all()] == ["C1", "C1", "C2"]

    assert await store.subscriptions.remove("C1", "nightly backup") is True
    assert await store.subscriptions.remove("C1", "nightly backup") is False
    assert [s.target for s in await store.subscriptions.all("C1")] == ["prod"]
    assert [s.target for s in await store.subscriptions.all("C2")] == ["prod"]


async def test_a_subscription_is_its_target_and_its_except_text(store: Store) -> None:
    assert await store.subscriptions.add("C1", "prod", "U1", NOW, "staging") is True
    assert await store.subscriptions.add("C1", "PROD", "U2", NOW, "Staging") is False
    assert await store.subscriptions.add("C1", "prod", "U2", NOW) is True  # no filter: another
    assert await store.subscriptions.add("C1", "prod", "U2", NOW, "test") is True
    assert [(s.target, s.except_text) for s in await store.subscriptions.all("C1")] == [
        ("prod", "staging"), ("prod", ""), ("prod", "test"),
    ]  # fmt: skip
    assert await store.subscriptions.remove("C1", "prod", "nope") is False
    assert await store.subscriptions.remove("C1", "Prod", "STAGING") is True
    assert await store.subscriptions.remove("C1", "prod") is True  # the one without a filter
    assert [(s.target, s.except_text) for s in await store.subscriptions.all("C1")] == [
        ("prod", "test")
    ]


async def test_two_processes_adding_one_filtered_subscription_save_it_once(
    open_store: OpenStore,
) -> None:
    first, second = await open_store(), await open_store()
    added = await asyncio.gather(
        *(s.subscriptions.add("C1", "prod", "U1", NOW, "staging") for s in (first, second) * 3)
    )
    assert sorted(added) == [False] * 5 + [True]
    assert len(await first.subscriptions.all()) == 1


# -- the daily digest's reads ---------------------------------------------------------------
async def test_incidents_opened_or_resolved_in_a_window(store: Store) -> None:
    before = await opened(store, "1", now=NOW - 3 * MINUTE)  # opened before, resolved inside
    await store.incidents.resolve(before.id, NOW + MINUTE)
    inside = await opened(store, "2", now=NOW + 2 * MINUTE)  # opened inside, still open
    await opened(store, "3", now=NOW - 5 * MINUTE)  # before, still open: not a change
    after = await opened(store, "4", now=NOW + 10 * MINUTE)  # at the window's end: next one's
    changed = await store.incidents.changed_between(NOW, NOW + 10 * MINUTE)
    assert [i.id for i in changed] == [before.id, inside.id]
    assert after.id not in [i.id for i in changed]


async def test_when_a_message_was_queued(store: Store) -> None:
    assert await store.outbox.queued_at("digest:2025-03-01") is None
    await store.outbox.enqueue("digest:2025-03-01", "post", "C1", {"text": "hi"}, now=NOW)
    assert await store.outbox.queued_at("digest:2025-03-01") == NOW


# -- mutes ----------------------------------------------------------------------------------
async def test_a_timed_mute_ends_at_its_time_and_survives_recovery(store: Store) -> None:
    muted = await store.mutes.set("prod:1", NOW + timedelta(hours=1), "U1", NOW)
    active = await store.mutes.active("prod:1", NOW + 59 * MINUTE)
    assert active == muted
    assert active.until is not None
    assert active.until.tzinfo is UTC
    assert await store.mutes.active("prod:1", NOW + timedelta(hours=1)) is None
    assert await store.mutes.active("prod:2", NOW) is None
    assert await store.mutes.end_until_recovery("prod:1") is False
    assert await store.mutes.active("prod:1", NOW) == muted


async def test_a_mute_until_recovery_is_replaced_ended_by_recovery_or_unmuted(
    store: Store,
) -> None:
    await store.mutes.set("prod:1", NOW + MINUTE, "U1", NOW)
    await store.mutes.set("prod:1", None, "U2", NOW + MINUTE)
    active = await store.mutes.active("prod:1", NOW + timedelta(days=30))
    assert active is not None
    assert (active.until, active.created_by, active.created_at) == (None, "U2", NOW + MINUTE)
    assert await store.mutes.end_until_recovery("prod:1") is True
    assert await store.mutes.active("prod:1", NOW) is None

    await store.mutes.set("prod:1", None, "U1", NOW)
    assert await store.mutes.remove("prod:1") is True
    assert await store.mutes.remove("prod:1") is False
    assert await store.mutes.active("prod:1", NOW) is None


# -- outbox ---------------------------------------------------------------------------------
POST = {"text": "backup 1 is failing", "blocks": [{"type": "section", "text": {"type": "mrkdwn"}}]}


async def test_a_message_is_queued_once_per_key(store: Store) -> None:
    assert await store.outbox.enqueue("alert:1", "post", "C1", POST, now=NOW, incident_id=7) is True
    assert await store.outbox.enqueue("alert:1", "post", "C2", {"text": "other"}, now=NOW) is False
    assert await store.outbox.depth() == 1

    [item] = await store.outbox.due(NOW)
    assert (item.key, item.kind, item.channel, item.payload) == ("alert:1", "post", "C1", POST)
    assert (item.incident_id, item.target_key, item.attempts) == (7, None, 0)
    assert (item.sent_at, item.ts, item.error, item.gave_up) == (None, None, None, False)
    assert item.created_at == item.next_attempt_at == NOW
    assert item.created_at.tzinfo is UTC


async def test_updates_and_replies_name_their_post_and_kinds_are_checked(store: Store) -> None:
    with pytest.raises(ValueError, match="outbox kind 'delete'"):
        await store.outbox.enqueue("x", "delete", "C1", POST, now=NOW)
    with pytest.raises(ValueError, match="needs the target_key"):
        await store.outbox.enqueue("x", "reply", "C1", POST, now=NOW)
    assert await store.outbox.depth() == 0


async def test_due_messages_come_in_queue_order_and_leave_once_sent_or_given_up(
    store: Store,
) -> None:
    for n in range(4):
        await store.outbox.enqueue(f"k{n}", "post", "C1", {"text": str(n)}, now=NOW + n * MINUTE)
    assert [i.key for i in await store.outbox.due(NOW + MINUTE)] == ["k0", "k1"]
    assert [i.key for i in await store.outbox.due(NOW + 9 * MINUTE, limit=3)] == [
        "k0",
        "k1",
        "k2",
    ]
    k0, k1, k2, _ = await store.outbox.due(NOW + 9 * MINUTE)

    await store.outbox.mark_retry(k0.id, NOW + 20 * MINUTE, "ratelimited")
    await store.outbox.mark_sent(k1.id, NOW + 9 * MINUTE, "1700000000.000100")
    await store.outbox.give_up(k2.id, "channel_not_found")
    assert [i.key for i in await store.outbox.due(NOW + 9 * MINUTE)] == ["k3"]
    [retried, _] = await store.outbox.due(NOW + 20 * MINUTE)
    assert (retried.key, retried.error, retried.next_attempt_at) == (
        "k0",
        "ratelimited",
        NOW + 20 * MINUTE,
    )
    assert await store.outbox.depth() == 2

    await store.outbox.mark_retry(k1.id, NOW + 30 * MINUTE, "late retry of a sent message")
    assert await store.outbox.sent_post("k1") == ("C1", "1700000000.000100")
    assert await store.outbox.sent_post("k0") is None
    assert await store.outbox.sent_post("k2") is None
    assert await store.outbox.sent_post("nope") is None
    assert (await store.outbox.pending("k0"), await store.outbox.pending("k1")) == (True, False)
    assert (await store.outbox.pending("k2"), await store.outbox.pending("nope")) == (False, False)


async def test_each_attempt_tells_how_many_came_before_it(store: Store) -> None:
    await store.outbox.enqueue("k", "post", "C1", POST, now=NOW)
    [item] = await store.outbox.due(NOW)
    assert [await store.outbox.begin_attempt(item.id, NOW) for _ in range(3)] == [0, 1, 2]
    assert (await store.outbox.due(NOW))[0].attempts == 3
    with pytest.raises(LookupError, match="no outbox item"):
        await store.outbox.begin_attempt(item.id + 1000, NOW)


async def test_only_the_newest_update_of_a_message_is_sent(store: Store) -> None:
    await store.outbox.enqueue("alert", "post", "C1", POST, now=NOW)
    for n in range(3):
        await store.outbox.enqueue(
            f"upd{n}", "update", "C1", {"text": f"{n + 2} failures"}, now=NOW + n * MINUTE,
            target_key="alert",
        )  # fmt: skip
    await store.outbox.enqueue(
        "reply", "reply", "C1", {"text": "recovered"}, now=NOW, target_key="alert"
    )
    await store.outbox.enqueue("other", "update", "C1", {"text": "x"}, now=NOW, target_key="alert2")
    by_key = {i.key: i for i in await store.outbox.due(NOW + 9 * MINUTE)}
    newest = by_key["upd2"]

    assert await store.outbox.supersede_updates("alert", by_key["reply"].id) == 0  # not an update
    assert await store.outbox.supersede_updates("alert", newest.id) == 2
    assert await store.outbox.supersede_updates("alert", newest.id) == 0
    left = [i.key for i in await store.outbox.due(NOW + 9 * MINUTE)]
    assert left == ["alert", "upd2", "reply", "other"]
    assert await store.outbox.sent_post("upd0") is None  # skipped: counted as sent, with no ts
    assert await store.outbox.pending("upd0") is False
    assert await store.outbox.depth() == 4


async def test_queued_messages_survive_a_restart_and_keep_no_secret(
    open_store: OpenStore,
) -> None:
    secrets.add("xoxb-test-outbox-5e6f")
    store = await open_store()
    await store.outbox.enqueue("k", "post", "C1", {"text": "token xoxb-test-outbox-5e6f"}, now=NOW)
    await store.close()

    again = await open_store()
    [item] = await again.outbox.due(NOW)
    assert item.payload == {"text": f"token {MASK}"}
    await again.outbox.mark_sent(item.id, NOW + MINUTE, "1.2")
    assert await again.outbox.sent_post("k") == ("C1", "1.2")
    assert await again.outbox.depth() == 0


async def test_processes_claiming_at_once_each_get_other_messages(open_store: OpenStore) -> None:
    stores = [await open_store() for _ in range(4)]
    for n in range(40):
        await stores[0].outbox.enqueue(f"k{n}", "post", "C1", {"text": str(n)}, now=NOW)

    claims = await asyncio.gather(
        *(s.outbox.claim(NOW, f"process-{i}", lease=MINUTE, limit=15) for i, s in enumerate(stores))
    )
    keys = [item.key for claim in claims for item in claim]
    assert sorted(keys) == sorted(f"k{n}" for n in range(40))  # every message, once
    assert all(item.claimed_by == f"process-{i}" for i, c in enumerate(claims) for item in c)


async def test_a_claim_is_its_owners_until_it_expires_then_anyones(store: Store) -> None:
    await store.outbox.enqueue("k", "post", "C1", POST, now=NOW)
    [claimed] = await store.outbox.claim(NOW, "dies", lease=MINUTE)
    assert await store.outbox.claim(NOW + MINUTE / 2, "lives", lease=MINUTE) == []

    [reclaimed] = await store.outbox.claim(NOW + MINUTE, "lives", lease=MINUTE)  # owner died
    assert (reclaimed.id, reclaimed.claimed_by) == (claimed.id, "lives")
    await store.outbox.mark_sent(reclaimed.id, NOW + MINUTE, "1.2")
    assert await store.outbox.claim(NOW + 10 * MINUTE, "late", lease=MINUTE) == []


async def test_text_longer_than_its_column_is_cut_to_fit_not_refused(store: Store) -> None:
    name, error = "n" * 600, "e" * 100_000  # a provider's job name and error text
    incident = await store.incidents.open(
        "prod", "1", ref="prod:1", job_name=name, now=NOW, failures=1,
        detail={"status_text": error},
    )  # fmt: skip
    assert incident is not None
    kept = await store.incidents.get(incident.id)
    assert kept is not None
    assert len(kept.job_name) == 512
    assert kept.job_name.endswith("…")
    assert len(kept.detail["status_text"]) <= 4000
    await store.subscriptions.add("C1", "t" * 700, "U1", NOW)
    (subscription,) = await store.subscriptions.all("C1")
    assert len(subscription.target) == 512
    await store.accounts.set_reachable("prod", False, NOW, error)
    state = await store.accounts.state("prod")
    assert state is not None
    assert state.last_error is not None
    assert len(state.last_error) == 4000
