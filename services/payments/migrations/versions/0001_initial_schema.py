"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-02 14:52:07.779149
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from openbank_kit import kit_tables_v1

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    kit_tables_v1.upgrade()
    op.create_table(
        "bill",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("bill_id", sa.String(length=40), nullable=False),
        sa.Column("biller_id", sa.String(length=40), nullable=False),
        sa.Column("customer_reference", sa.String(length=35), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "bill_id"),
    )
    with op.batch_alter_table("bill", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bill_tenant_biller_reference", ["tenant_id", "biller_id", "customer_reference"], unique=False
        )

    op.create_table(
        "biller",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("biller_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("settlement_account_id", sa.String(length=40), nullable=False),
        sa.Column("reference_label", sa.String(length=35), nullable=False),
        sa.Column("reference_pattern", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "biller_id"),
    )


def downgrade() -> None:
    kit_tables_v1.downgrade()
    op.drop_table("biller")
    with op.batch_alter_table("bill", schema=None) as batch_op:
        batch_op.drop_index("ix_bill_tenant_biller_reference")

    op.drop_table("bill")
