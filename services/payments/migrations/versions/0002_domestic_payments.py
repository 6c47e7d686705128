"""domestic payment consents, payments and account outflow counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 18:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, openbank_kit.db.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "domestic_payment_consent",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("initiation", sa.JSON(), nullable=False),
        sa.Column("risk", sa.JSON(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("creditor_identification", sa.String(length=34), nullable=False),
        sa.Column("creditor_account_id", sa.String(length=40), nullable=True),
        sa.Column("creditor_name", sa.String(length=350), nullable=False),
        sa.Column("debtor_identification", sa.String(length=34), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("debtor_account_id", sa.String(length=40), nullable=True),
        sa.Column("debtor_account_class", sa.String(length=10), nullable=True),
        sa.Column("debtor_name", sa.String(length=350), nullable=True),
        _utc("created_at"),
        _utc("status_updated_at"),
        _utc("expires_at"),
        sa.PrimaryKeyConstraint("tenant_id", "consent_id"),
    )
    op.create_table(
        "domestic_payment",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("status_reason_code", sa.String(length=4), nullable=True),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("debtor_account_id", sa.String(length=40), nullable=False),
        sa.Column("credit_account_id", sa.String(length=40), nullable=False),
        sa.Column("outflow_day", sa.Date(), nullable=False),
        sa.Column("ledger_transaction_id", sa.String(length=40), nullable=True),
        _utc("created_at"),
        _utc("status_updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "payment_id"),
        sa.UniqueConstraint("tenant_id", "consent_id", name="uq_domestic_payment_consent"),
    )
    with op.batch_alter_table("domestic_payment", schema=None) as batch_op:
        batch_op.create_index("ix_domestic_payment_status", ["tenant_id", "status"], unique=False)
    op.create_table(
        "account_outflow_day",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outflow_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", "day"),
    )


def downgrade() -> None:
    op.drop_table("account_outflow_day")
    with op.batch_alter_table("domestic_payment", schema=None) as batch_op:
        batch_op.drop_index("ix_domestic_payment_status")
    op.drop_table("domestic_payment")
    op.drop_table("domestic_payment_consent")
