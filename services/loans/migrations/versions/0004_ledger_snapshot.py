"""the ledger's profile of a customer, kept for the month it was asked in (the decision's cash-flow features)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_snapshot",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("fetched_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "month"),
    )


def downgrade() -> None:
    op.drop_table("ledger_snapshot")
