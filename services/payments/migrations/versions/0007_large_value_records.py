"""large-value transaction records, and the sandbox fault a payment was made with

Revision ID: 0007
Revises: 0005 (re-chained onto 0006 at merge)
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "large_value_record",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("holder_kind", sa.String(length=10), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("holder_name", sa.String(length=350), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("threshold_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason_code", sa.String(length=4), nullable=False),
        sa.Column("payment_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "report_id"),
        sa.UniqueConstraint("tenant_id", "subject_id", "day", name="uq_large_value_record_subject_day"),
    )
    with op.batch_alter_table("domestic_payment") as batch:
        batch.add_column(sa.Column("fault", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("domestic_payment") as batch:
        batch.drop_column("fault")
    op.drop_table("large_value_record")
