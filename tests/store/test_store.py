"""The bot's database, on SQLite files and (when CRONOPS_TEST_POSTGRES_URL is set) PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import shutil
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from bot.store import Store
from bot.store.db import MIGRATIONS, alembic_config, normalise_url
from bot.store.tables import Base
from providers.budget import Rule
from providers.redact import secrets
from tests.store.stores import OpenStore

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
TABLES = {"request_budget", "audit_log", "scheduled_resume", "meta", "alembic_version", "outbox"}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def tables_of(store: Store) -> set[str]:
    async with store.engine.connect() as connection:
        return await connection.run_sync(_tables)


# -- URLs -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///./cronops.db", "sqlite+aiosqlite:///./cronops.db"),
        ("sqlite:////var/lib/cronops/db.sqlite", "sqlite+aiosqlite:////var/lib/cronops/db.sqlite"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@db:5432/cronops", "postgresql+asyncpg://u:p@db:5432/cronops"),
        ("postgres://u:p@db/cronops", "postgresql+asyncpg://u:p@db/cronops"),
        ("postgresql+psycopg2://u@db/cronops", "postgresql+asyncpg://u@db/cronops"),
        ("postgresql+asyncpg://u:p@db/cronops", "postgresql+asyncpg://u:p@db/cronops"),
    ],
)
def test_urls_are_made_async(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_an_unsupported_database_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        normalise_url("mysql://u@db/cronops")


# -- migrations -----------------------------------------------------------------------------
async def test_first_open_creates_the_schema_and_later_opens_change_nothing(
    open_store: OpenStore,
) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    store = await open_store()
    assert await tables_of(store) >= TABLES
    assert head is not None
    assert await store.schema_revision() == head

    await store.budget.spend("prod", TODAY, 1, command_rule(10))
    await store.migrate()
    again = await open_store()
    assert await again.schema_revision() == head
    assert await again.budget.used("prod", TODAY) == 1


async def test_store_open_migrates_a_new_sqlite_file(tmp_path: Path) -> None:
    async with await Store.open(f"sqlite:///{tmp_path}/new.db") as store:
        assert await tables_of(store) >= TABLES
        async with store.engine.connect() as connection:
            mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
        assert (mode, keys) == ("wal", 1)


def test_the_ddl_can_be_reviewed_as_sql_before_upgrading_a_shared_database() -> None:
    config = alembic_config("postgresql://cronops@db/cronops")
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE request_budget" in sql
    assert "due_at TIMESTAMP WITH TIME ZONE NOT NULL" in sql


async def test_alembic_can_upgrade_without_a_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with await Store.open(url) as store:
        assert await store.schema_revision() == head


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_the_models_match_what_the_migrations_create(store: Store) -> None:
    async with store.engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


LATER_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("later_table", sa.Column("id", sa.Integer(), primary_key=True))
    with op.batch_alter_table("meta") as batch:
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
"""


async def test_a_later_migration_applies_on_top_of_existing_data(
    open_store: OpenStore, tmp_path: Path
) -> None:
    store = await open_store()
    await store.budget.spend("prod", TODAY, 1, command_rule(10))
    await store.meta.set("first_poll_done:prod", "yes")
    await store.audit.record(at=NOW, user_id="U1", action="pause", ref="prod:1")

    later = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, later, ignore=shutil.ignore_patterns("__pycache__"))
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    (later / "versions" / "9999_later.py").write_text(LATER_MIGRATION.replace("{head}", str(head)))
    await store.migrate(alembic_config(script_location=later))

    assert await store.schema_revision() == "9999"
    assert "later_table" in await tables_of(store)
    assert await store.budget.used("prod", TODAY) == 1
    assert await store.meta.get("first_poll_done:prod") == "yes"
    assert [e.ref for e in await store.audit.recent()] == ["prod:1"]


# -- request budget -------------------------------------------------------------------------
def poll_rule(limit: int, reserve: int = 0, share: int = 0) -> Rule:
    return Rule("poll", limit, reserve, share)


def command_rule(limit: int, share: int = 0) -> Rule:
    return Rule("command", limit, 0, share)


async def test_polls_stop_short_of_the_reserve_while_commands_spend_it(store: Store) -> None:
    polls = [await store.budget.spend("prod", TODAY, 1, poll_rule(10, reserve=5)) for _ in range(7)]
    assert polls == [True] * 5 + [False] * 2

    commands = [await store.budget.spend("prod", TODAY, 1, command_rule(10)) for _ in range(6)]
    assert commands == [True] * 5 + [False]
    assert await store.budget.counts("prod", TODAY) == (10, 5)


async def test_a_reserve_as_large_as_the_limit_refuses_even_the_first_request(
    store: Store,
) -> None:
    assert await store.budget.spend("prod", TODAY, 1, poll_rule(3, reserve=3)) is False
    assert await store.budget.used("prod", TODAY) == 0


async def test_commands_never_spend_the_pollers_share(store: Store) -> None:
    rule = command_rule(10, share=6)
    commands = [await store.budget.spend("prod", TODAY, 1, rule) for _ in range(6)]
    assert commands == [True] * 4 + [False] * 2  # 10 - 6: the rest is the poller's
    share = poll_rule(10, reserve=4, share=6)
    polls = [await store.budget.spend("prod", TODAY, 1, share) for _ in range(7)]
    assert polls == [True] * 6 + [False]  # its whole share, though people's reserve is spent
    assert await store.budget.counts("prod", TODAY) == (10, 6)


async def test_the_poller_may_use_more_than_its_share_while_it_leaves_the_reserve(
    store: Store,
) -> None:
    rule = poll_rule(10, reserve=3, share=2)
    polls = [await store.budget.spend("prod", TODAY, 1, rule) for _ in range(9)]
    assert polls == [True] * 7 + [False] * 2
    assert await store.budget.spend("prod", TODAY, 1, command_rule(10, share=2)) is True


async def test_each_person_has_a_share_an_hour(store: Store) -> None:
    hour = datetime(2025, 3, 1, 12, tzinfo=UTC)
    spent = [await store.budget.spend_share("prod", "UANA", hour, 1, 3) for _ in range(4)]
    assert spent == [True] * 3 + [False]
    assert await store.budget.spend_share("prod", "UBOB", hour, 1, 3) is True
    assert await store.budget.spend_share("prod", "UANA", hour + timedelta(hours=1), 1, 3)


async def test_each_account_and_day_has_its_own_count(store: Store) -> None:
    assert await store.budget.used("prod", TODAY) == 0
    for _ in range(3):
        await store.budget.spend("prod", TODAY, 1, command_rule(3))
    assert await store.budget.spend("prod", TODAY, 1, command_rule(3)) is False

    tomorrow = TODAY + timedelta(days=1)
    assert await store.budget.spend("prod", tomorrow, 1, command_rule(3)) is True
    assert await store.budget.spend("hub", TODAY, 1, command_rule(3)) is True
    assert await store.budget.used("prod", date(2025, 3, 1)) == 3


async def test_concurrent_spending_never_exceeds_the_limit_and_survives_a_restart(
    open_store: OpenStore,
) -> None:
    one, two = await open_store(), await open_store()  # two pools, like two processes
    calls = [
        (one if i % 2 else two).budget.spend("prod", TODAY, 1, command_rule(20)) for i in range(50)
    ]
    results = await asyncio.gather(*calls)

    assert sum(results) == 20
    await one.close()
    await two.close()
    assert await (await open_store()).budget.used("prod", TODAY) == 20


# -- audit ----------------------------------------------------------------------------------
async def test_audit_entries_come_back_newest_first_in_utc(store: Store) -> None:
    madrid = timezone(timedelta(hours=1))
    await store.audit.record(at=NOW, user_id="U1", action="pause", ref="prod:1", detail="2h")
    await store.audit.record(
        at=datetime(2025, 3, 1, 14, 0, tzinfo=madrid),
        user_id="U2",
        action="delete",
        ref="hub:scheduler/17",
        ok=False,
        error="Cronhub rejected the API key",
    )

    latest, first = await store.audit.recent()
    assert latest.at == NOW + timedelta(hours=1)
    assert latest.at.tzinfo is UTC
    assert (latest.action, latest.ok, latest.error) == (
        "delete",
        False,
        "Cronhub rejected the API key",
    )
    assert (first.user_id, first.ref, first.detail, first.ok, first.error) == (
        "U1",
        "prod:1",
        "2h",
        True,
        None,
    )
    assert first.at == NOW
    assert [e.id for e in await store.audit.recent(limit=1)] == [latest.id]


async def test_audit_never_keeps_a_known_secret(store: Store) -> None:
    secrets.add("sk-test-audit-9f8e7d")
    entry = await store.audit.record(
        at=NOW, user_id="U1", action="edit", ref="prod:1", detail="key sk-test-audit-9f8e7d"
    )
    assert "sk-test-audit-9f8e7d" not in entry.detail
    assert "sk-test-audit-9f8e7d" not in (await store.audit.recent())[0].detail


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await store.audit.record(at=datetime(2025, 3, 1), user_id="U1", action="x", ref="p:1")


# -- timed resumes --------------------------------------------------------------------------
async def schedule(
    store: Store, ref: str, due_in: timedelta, message_key: str | None = None
) -> int:
    resume = await store.resumes.schedule(
        ref=ref, account=ref.split(":")[0], due_at=NOW + due_in, requested_by="U1",
        channel="C1", now=NOW, message_key=message_key,
    )  # fmt: skip
    return resume.id


async def test_a_timed_resume_is_due_once_its_time_comes_and_done_once(store: Store) -> None:
    soon = await schedule(store, "prod:1", timedelta(hours=2))
    await schedule(store, "prod:2", timedelta(hours=5))
    assert await store.resumes.due(NOW + timedelta(hours=1)) == []

    due = await store.resumes.due(NOW + timedelta(hours=2))
    assert [(r.id, r.ref, r.channel, r.attempts) for r in due] == [(soon, "prod:1", "C1", 0)]
    assert due[0].due_at == NOW + timedelta(hours=2)
    assert due[0].created_at.tzinfo is UTC

    assert await store.resumes.mark_done(soon, NOW + timedelta(hours=2)) is True
    assert await store.resumes.mark_done(soon, NOW + timedelta(hours=3)) is False
    assert [r.ref for r in await store.resumes.due(NOW + timedelta(days=1))] == ["prod:2"]
    assert await store.resumes.pending("prod:1") is None


async def test_a_failed_resume_stays_open_and_is_retried_until_it_gives_up(store: Store) -> None:
    rid = await schedule(store, "prod:1", timedelta(hours=1))
    later = NOW + timedelta(hours=1)
    await store.resumes.mark_failed(rid, "cron-job.org is unreachable")
    [again] = await store.resumes.due(later)
    assert (again.attempts, again.last_error) == (1, "cron-job.org is unreachable")

    await store.resumes.mark_failed(rid, "still down", retry_at=later + timedelta(minutes=5))
    assert await store.resumes.due(later) == []
    assert [r.attempts for r in await store.resumes.due(later + timedelta(minutes=5))] == [2]
    assert await store.resumes.due(later + timedelta(minutes=5), max_attempts=2) == []
    pending = await store.resumes.pending("prod:1")
    assert pending is not None
    assert pending.last_error == "still down"


async def test_a_manual_resume_cancels_the_timed_one(store: Store) -> None:
    rid = await schedule(store, "prod:1", timedelta(hours=1), message_key="announce:1")
    pending = await store.resumes.pending("prod:1")
    assert pending is not None
    assert (pending.id, pending.message_key, pending.done_at) == (rid, "announce:1", None)

    assert await store.resumes.cancel("prod:1", NOW) == 1
    assert await store.resumes.cancel("prod:1", NOW) == 0
    assert await store.resumes.pending("prod:1") is None
    assert await store.resumes.due(NOW + timedelta(days=1)) == []
    assert await store.resumes.mark_done(rid, NOW) is False


async def test_a_new_timed_pause_replaces_the_open_one(store: Store) -> None:
    await schedule(store, "prod:1", timedelta(hours=2))
    newer = await schedule(store, "prod:1", timedelta(days=1))

    pending = await store.resumes.pending("prod:1")
    assert pending is not None
    assert (pending.id, pending.due_at) == (newer, NOW + timedelta(days=1))
    assert await store.resumes.due(NOW + timedelta(hours=3)) == []


# -- meta -----------------------------------------------------------------------------------
async def test_meta_values_are_set_read_and_overwritten(store: Store) -> None:
    assert await store.meta.get("first_poll_done:prod") is None
    await store.meta.set("first_poll_done:prod", "2025-03-01T12:00:00Z")
    await store.meta.set("first_poll_done:prod", "2025-03-02T12:00:00Z")
    assert await store.meta.get("first_poll_done:prod") == "2025-03-02T12:00:00Z"


async def test_pruning_forgets_what_is_old_and_keeps_what_is_open_or_recent(store: Store) -> None:
    old, recent = NOW - timedelta(days=100), NOW - timedelta(days=1)
    keep = timedelta(days=90)
    for at in (old, recent):
        await store.audit.record(at=at, user_id="U1", action="paused", ref=f"prod:{at.day}")
        await store.budget.spend("prod", at.date(), 1, command_rule(10))
        for key in (f"sent:{at.day}", f"waiting:{at.day}"):
            await store.outbox.enqueue(key, "post", "C1", {"text": key}, now=at)
        due = await store.outbox.due(at + timedelta(seconds=1), 10)
        (sent,) = [item for item in due if item.key == f"sent:{at.day}"]
        await store.outbox.mark_sent(sent.id, at, "1.1")
        resolved = await store.incidents.open(
            "prod", f"r{at.day}", ref="prod:r", job_name="r", now=at, failures=1, detail={}
        )
        assert resolved is not None
        await store.incidents.resolve(resolved.id, at)
        await store.incidents.open(
            "prod", f"o{at.day}", ref="prod:o", job_name="o", now=at, failures=1, detail={}
        )  # still failing: kept however old
        rid = await schedule(store, f"prod:{at.day}", timedelta(hours=1))
        await store.resumes.cancel(f"prod:{at.day}", at)
        assert rid
    await store.mutes.set("prod:ended", NOW - timedelta(hours=1), "U1", old)
    await store.mutes.set("prod:until-recovery", None, "U1", old)
    killed, alive = NOW - timedelta(days=2), NOW - timedelta(seconds=5)
    await store.leases.beat("killed:1:aaaaaa", killed)  # never said goodbye
    await store.leases.take("poll:prod", "killed:1:aaaaaa", killed, timedelta(seconds=20))
    await store.leases.beat("alive:2:bbbbbb", alive)
    await store.leases.take("poll:hub", "alive:2:bbbbbb", alive, timedelta(seconds=20))
    await store.home.opened("UGONE", old)
    await store.home.opened("USTAYS", recent)

    pruned = await store.prune(NOW, keep)

    assert pruned == {"outbox": 1, "audit": 1, "incidents": 1, "resumes": 1, "budget": 1,
                      "mutes": 1, "leases": 2, "home viewers": 1}  # fmt: skip
    assert await store.home.recent(old - timedelta(days=1), 10) == ["USTAYS"]
    assert list(await store.leases.all()) == ["poll:hub"]
    assert await store.leases.live(NOW, timedelta(minutes=1)) == ["alive:2:bbbbbb"]
    assert [e.ref for e in await store.audit.recent()] == [f"prod:{recent.day}"]
    assert await store.budget.used("prod", old.date()) == 0
    assert await store.budget.used("prod", recent.date()) == 1
    assert await store.outbox.depth() == 2  # unsent messages are never pruned
    assert {i.job_id for i in await store.incidents.all_open()} == {f"o{old.day}", f"o{recent.day}"}
    assert await store.mutes.active("prod:until-recovery", NOW) is not None
    assert await store.prune(NOW, keep) == dict.fromkeys(pruned, 0)  # nothing more to forget


# -- connections ----------------------------------------------------------------------------
async def test_reads_inside_a_unit_use_its_connection_so_busy_polls_never_starve_the_pool(
    open_store: OpenStore,
) -> None:
    """A poll reads inside its unit (open incidents, mutes, subscriptions, the outbox). Each
    read taking a second connection while the unit holds one emptied the pool when forty
    accounts polled at once on PostgreSQL: every poll waited for a connection the others held,
    for the pool's 30 s timeout (found by benchmarks/bench_replicas.py). On one connection,
    every read inside a unit answers, and sees what the unit wrote."""
    store = await open_store(pool_size=1, max_overflow=0, pool_timeout=2)
    async with store.unit():
        await store.meta.set("first", "1")
        incident = await store.incidents.open(
            "prod", "7", ref="prod:7", job_name="n", now=NOW, failures=1, detail={}
        )
        assert incident is not None
        assert await store.meta.get("first") == "1"
        assert [i.job_id for i in await store.incidents.all_open("prod")] == ["7"]
        assert await store.cursors.of("prod") == {}
        assert await store.mutes.all_active(NOW) == {}
        assert await store.subscriptions.all() == []
        assert await store.outbox.depth() == 0
        assert await store.accounts.state("prod") is None
    assert await store.meta.get("first") == "1"  # and outside, on the pool's one connection
