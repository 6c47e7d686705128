"""scheduled payments and standing orders: consents, orders and their executions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, openbank_kit.db.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "scheduled_consent",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("initiation", sa.JSON(), nullable=False),
        sa.Column("risk", sa.JSON(), nullable=False),
        sa.Column("creditor_identification", sa.String(length=34), nullable=False),
        sa.Column("creditor_account_id", sa.String(length=40), nullable=True),
        sa.Column("creditor_name", sa.String(length=350), nullable=False),
        sa.Column("debtor_identification", sa.String(length=34), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("debtor_account_id", sa.String(length=40), nullable=True),
        sa.Column("debtor_account_class", sa.String(length=10), nullable=True),
        sa.Column("debtor_name", sa.String(length=350), nullable=True),
        _utc("first_due_at"),
        _utc("created_at"),
        _utc("status_updated_at"),
        _utc("expires_at"),
        sa.PrimaryKeyConstraint("tenant_id", "consent_id"),
    )
    op.create_table(
        "scheduled_order",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("debtor_account_id", sa.String(length=40), nullable=False),
        sa.Column("credit_account_id", sa.String(length=40), nullable=False),
        sa.Column("next_occurrence", sa.Integer(), nullable=False),
        _utc("next_due_at", nullable=True),
        _utc("created_at"),
        _utc("status_updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "order_id"),
        sa.UniqueConstraint("tenant_id", "consent_id", name="uq_scheduled_order_consent"),
    )
    with op.batch_alter_table("scheduled_order", schema=None) as batch_op:
        batch_op.create_index("ix_scheduled_order_due", ["tenant_id", "status", "next_due_at"], unique=False)
    op.create_table(
        "scheduled_execution",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("execution_id", sa.String(length=60), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        _utc("due_at"),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("status_reason_code", sa.String(length=4), nullable=True),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("outflow_day", sa.Date(), nullable=False),
        sa.Column("ledger_transaction_id", sa.String(length=40), nullable=True),
        _utc("created_at"),
        _utc("status_updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "execution_id"),
        sa.UniqueConstraint("tenant_id", "order_id", "occurrence", name="uq_scheduled_execution_occurrence"),
    )
    with op.batch_alter_table("scheduled_execution", schema=None) as batch_op:
        batch_op.create_index("ix_scheduled_execution_status", ["tenant_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scheduled_execution", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_execution_status")
    op.drop_table("scheduled_execution")
    with op.batch_alter_table("scheduled_order", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_order_due")
    op.drop_table("scheduled_order")
    op.drop_table("scheduled_consent")
