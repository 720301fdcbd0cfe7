"""Shared deployments: processes say they are alive, and leases say who does which work.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "process",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("seen_at", Timestamp, nullable=False),
    )
    op.create_table(
        "lease",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("taken_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lease")
    op.drop_table("process")
