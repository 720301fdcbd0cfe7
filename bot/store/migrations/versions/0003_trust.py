"""Promises under faults: failed polls in a row, and claims on timed resumes.

``account_state.failed_polls`` counts consecutive failed polls (an account is unreachable only
after ``alerts.outage_after`` of them); ``scheduled_resume.claimed_until`` is set by the process
that is resuming the job, before it calls the provider, so a cancelled resume never runs and
a claim left by a dead process expires.

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
    with op.batch_alter_table("account_state") as table:
        table.add_column(
            sa.Column("failed_polls", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("scheduled_resume") as table:
        table.add_column(sa.Column("claimed_until", Timestamp, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scheduled_resume") as table:
        table.drop_column("claimed_until")
    with op.batch_alter_table("account_state") as table:
        table.drop_column("failed_polls")
