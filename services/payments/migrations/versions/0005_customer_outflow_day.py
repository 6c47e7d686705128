"""the per-customer daily transfer limit's counter

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_outflow_day",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outflow_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "day"),
    )


def downgrade() -> None:
    op.drop_table("customer_outflow_day")
