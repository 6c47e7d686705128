"""account-access consents and ledger holds

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_access_consent",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("expiration_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("transaction_from_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("transaction_to_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status_updated_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("account_ids", sa.JSON(), nullable=False),
        sa.Column("request_data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "consent_id"),
    )
    op.create_table(
        "ledger_hold",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("hold_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=140), nullable=False),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status_updated_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "hold_id"),
    )
    with op.batch_alter_table("ledger_hold", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_hold_tenant_account_status", ["tenant_id", "account_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_hold", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_hold_tenant_account_status")
    op.drop_table("ledger_hold")
    op.drop_table("account_access_consent")
