"""Alerts: account state, job cursors, incidents, subscriptions, mutes and the Slack outbox.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

#: Every timestamp is aware UTC: timestamptz on PostgreSQL, naive UTC on SQLite (see UTCDateTime).
Timestamp = sa.DateTime(timezone=True)
#: At most one open incident per job, enforced by the database (a partial unique index).
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        "account_state",
        sa.Column("account", sa.String(100), primary_key=True),
        sa.Column("first_polled_at", Timestamp, nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("outage_since", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_poll_at", Timestamp, nullable=True),
        sa.Column("last_success_at", Timestamp, nullable=True),
        sa.Column("last_requests", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("poll_interval_s", sa.Float(), nullable=True),
    )

    op.create_table(
        "job_cursor",
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("job_id", sa.String(255), nullable=False),
        sa.Column("last_id", sa.String(255), nullable=True),
        sa.Column("last_run", Timestamp, nullable=True),
        sa.Column("last_result", sa.String(32), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("account", "job_id", name="pk_job_cursor"),
    )

    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("job_id", sa.String(255), nullable=False),
        sa.Column("ref", sa.String(512), nullable=False),
        sa.Column("job_name", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("resolved_at", Timestamp, nullable=True),
        sa.Column("acked_by", sa.String(64), nullable=True),
        sa.Column("acked_at", Timestamp, nullable=True),
        sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "uq_incident_open",
        "incident",
        ["account", "job_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )

    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("target", sa.String(512), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.UniqueConstraint("channel", "target", name="uq_subscription_channel_target"),
    )

    op.create_table(
        "mute",
        sa.Column("ref", sa.String(512), primary_key=True),
        sa.Column("until", Timestamp, nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("target_key", sa.String(255), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("gave_up", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "gave_up", "next_attempt_at"])
    op.create_index("ix_outbox_target_key", "outbox", ["target_key"])


def downgrade() -> None:
    op.drop_index("ix_outbox_target_key", "outbox")
    op.drop_index("ix_outbox_pending", "outbox")
    op.drop_table("outbox")
    op.drop_table("mute")
    op.drop_table("subscription")
    op.drop_index("uq_incident_open", "incident")
    op.drop_table("incident")
    op.drop_table("job_cursor")
    op.drop_table("account_state")
