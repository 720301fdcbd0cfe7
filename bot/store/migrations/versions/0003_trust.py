"""Promises under faults: failed polls in a row, claims on timed resumes and queued messages.

``account_state.failed_polls`` counts consecutive failed polls (an account is unreachable only
after ``alerts.outage_after`` of them). ``scheduled_resume.claimed_until`` is set by the process
that is resuming the job, before it calls the provider, so a cancelled resume never runs and
a claim left by a dead process expires; ``message_key`` names the outbox message announcing
the pause, whose thread the resume replies in. ``outbox.claimed_until``/``claimed_by``: the
deliverer sending a message, so two never send the same one. ``request_budget.polls``
counts the poller's share of a day's requests, and ``request_share`` each person's requests
per hour, so neither the poller nor any one person can spend what belongs to the others.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("request_budget") as table:
        table.add_column(sa.Column("polls", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "request_share",
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("hour", Timestamp, nullable=False),
        sa.Column("used", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("account", "user_id", "hour", name="pk_request_share"),
    )
    with op.batch_alter_table("account_state") as table:
        table.add_column(
            sa.Column("failed_polls", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("scheduled_resume") as table:
        table.add_column(sa.Column("claimed_until", Timestamp, nullable=True))
        table.add_column(sa.Column("message_key", sa.String(255), nullable=True))
        table.drop_column("message_ts")  # the thread is found from message_key
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("claimed_until", Timestamp, nullable=True))
        table.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))


def downgrade() -> None:
    op.drop_table("request_share")
    with op.batch_alter_table("request_budget") as table:
        table.drop_column("polls")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("claimed_by")
        table.drop_column("claimed_until")
    with op.batch_alter_table("scheduled_resume") as table:
        table.add_column(sa.Column("message_ts", sa.String(32), nullable=True))
        table.drop_column("message_key")
        table.drop_column("claimed_until")
    with op.batch_alter_table("account_state") as table:
        table.drop_column("failed_polls")
