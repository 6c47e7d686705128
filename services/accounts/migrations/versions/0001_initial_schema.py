"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-02 15:10:40.406443
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db
from openbank_kit import kit_tables_v1

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    kit_tables_v1.upgrade()
    op.create_table(
        "account",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("account_number", sa.String(length=19), nullable=False),
        sa.Column("account_class", sa.String(length=10), nullable=False),
        sa.Column("account_type", sa.String(length=10), nullable=False),
        sa.Column("account_subtype", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("nickname", sa.String(length=70), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("bound_account_id", sa.String(length=40), nullable=True),
        sa.Column("bound_external_account_number", sa.String(length=34), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "account_id"),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index("ix_account_tenant_customer", ["tenant_id", "customer_id"], unique=False)

    op.create_table(
        "customer",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("party_type", sa.String(length=16), nullable=False),
        sa.Column("full_name", sa.String(length=140), nullable=False),
        sa.Column("id_type", sa.String(length=16), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("mobile", sa.String(length=11), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("gender", sa.String(length=1), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("owner_customer_id", sa.String(length=40), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("onboarded_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
    )
    op.create_table(
        "ledger_transaction",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("booked_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=140), nullable=False),
        sa.Column("counterparty_name", sa.String(length=140), nullable=True),
        sa.Column("counterparty_account_number", sa.String(length=34), nullable=True),
        sa.Column("merchant_category_code", sa.String(length=4), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "transaction_id"),
    )
    op.create_table(
        "posting",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("posting_id", sa.String(length=44), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", "posting_id"),
    )


def downgrade() -> None:
    kit_tables_v1.downgrade()
    op.drop_table("posting")
    op.drop_table("ledger_transaction")
    op.drop_table("customer")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index("ix_account_tenant_customer")

    op.drop_table("account")
