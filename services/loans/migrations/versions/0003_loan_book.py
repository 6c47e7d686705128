"""loan book: the loan's ledger account, penalty interest on repayments, the loan-event outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("loan_account_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("loan_repayment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("penalty_fen", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "loan_event",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("loan_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("loan_status", sa.String(length=10), nullable=False),
        sa.Column("occurred_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("published_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "event_id"),
    )
    with op.batch_alter_table("loan_event", schema=None) as batch_op:
        batch_op.create_index("ix_loan_event_pending", ["tenant_id", "published_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loan_event", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_event_pending")
    op.drop_table("loan_event")
    with op.batch_alter_table("loan_repayment", schema=None) as batch_op:
        batch_op.drop_column("penalty_fen")
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_column("loan_account_id")
