"""The on-call surface: subscription filters, flapping, recent runs, Home tab viewers.

``subscription.except_text`` leaves out jobs whose names contain it ('' for none; part of the
subscription's identity). ``incident.flapping`` marks an incident kept open while its job
flaps. ``job_cursor.recent`` holds the job's last runs, oldest first, one letter each (F
failed, O ok), to tell flapping. ``home_viewer`` lists who opened the bot's Home tab, so it
can be refreshed for them.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("subscription") as table:
        table.add_column(
            sa.Column("except_text", sa.String(200), nullable=False, server_default="")
        )
        table.drop_constraint("uq_subscription_channel_target", type_="unique")
        table.create_unique_constraint(
            "uq_subscription_channel_target_except", ["channel", "target", "except_text"]
        )
    with op.batch_alter_table("incident") as table:
        table.add_column(
            sa.Column("flapping", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("job_cursor") as table:
        table.add_column(sa.Column("recent", sa.String(32), nullable=False, server_default=""))
    op.create_table(
        "home_viewer",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("opened_at", Timestamp, nullable=False),
        sa.Column("published_at", Timestamp, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("home_viewer")
    with op.batch_alter_table("job_cursor") as table:
        table.drop_column("recent")
    with op.batch_alter_table("incident") as table:
        table.drop_column("flapping")
    with op.batch_alter_table("subscription") as table:
        table.drop_constraint("uq_subscription_channel_target_except", type_="unique")
        table.create_unique_constraint("uq_subscription_channel_target", ["channel", "target"])
        table.drop_column("except_text")
