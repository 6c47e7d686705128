"""closed-month figures per customer, kept for the credit decision's cash-flow features

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_month_figures",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("inflows_fen", sa.BigInteger(), nullable=False),
        sa.Column("outflows_fen", sa.BigInteger(), nullable=False),
        sa.Column("salary_fen", sa.BigInteger(), nullable=False),
        sa.Column("salary_count", sa.Integer(), nullable=False),
        sa.Column("month_end_balance_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", "month"),
    )


def downgrade() -> None:
    op.drop_table("customer_month_figures")
