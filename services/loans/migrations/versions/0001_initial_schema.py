"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-02 14:52:07.851899
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
        "bureau_credit_account",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("credit_account_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("lender_name", sa.String(length=140), nullable=False),
        sa.Column("account_type", sa.String(length=20), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("credit_limit_fen", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_fen", sa.BigInteger(), nullable=False),
        sa.Column("monthly_payment_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("overdue_count_24m", sa.Integer(), nullable=False),
        sa.Column("max_overdue_days_24m", sa.Integer(), nullable=False),
        sa.Column("current_overdue_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "credit_account_id"),
    )
    with op.batch_alter_table("bureau_credit_account", schema=None) as batch_op:
        batch_op.create_index("ix_bureau_credit_account_subject", ["tenant_id", "customer_id"], unique=False)

    op.create_table(
        "bureau_inquiry",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("inquiry_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("inquired_on", sa.Date(), nullable=False),
        sa.Column("institution_name", sa.String(length=140), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "inquiry_id"),
    )
    with op.batch_alter_table("bureau_inquiry", schema=None) as batch_op:
        batch_op.create_index("ix_bureau_inquiry_subject", ["tenant_id", "customer_id"], unique=False)

    op.create_table(
        "bureau_subject",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("full_name", sa.String(length=140), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("provident_fund_monthly_fen", sa.BigInteger(), nullable=True),
        sa.Column("first_credit_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
    )
    op.create_table(
        "fraud_blacklist",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("id_type", sa.String(length=16), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("full_name", sa.String(length=140), nullable=False),
        sa.Column("reason", sa.String(length=140), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=70), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id"),
    )
    with op.batch_alter_table("fraud_blacklist", schema=None) as batch_op:
        batch_op.create_index("ix_fraud_blacklist_id_number", ["tenant_id", "id_number"], unique=False)

    op.create_table(
        "tax_filing",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("filing_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.Column("vat_fen", sa.BigInteger(), nullable=False),
        sa.Column("income_tax_fen", sa.BigInteger(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "filing_id"),
    )
    with op.batch_alter_table("tax_filing", schema=None) as batch_op:
        batch_op.create_index("ix_tax_filing_taxpayer", ["tenant_id", "customer_id"], unique=False)

    op.create_table(
        "tax_profile",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("taxpayer_name", sa.String(length=140), nullable=False),
        sa.Column("taxpayer_type", sa.String(length=12), nullable=False),
        sa.Column("tax_credit_grade", sa.String(length=1), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("industry", sa.String(length=70), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
    )


def downgrade() -> None:
    kit_tables_v1.downgrade()
    op.drop_table("tax_profile")
    with op.batch_alter_table("tax_filing", schema=None) as batch_op:
        batch_op.drop_index("ix_tax_filing_taxpayer")

    op.drop_table("tax_filing")
    with op.batch_alter_table("fraud_blacklist", schema=None) as batch_op:
        batch_op.drop_index("ix_fraud_blacklist_id_number")

    op.drop_table("fraud_blacklist")
    op.drop_table("bureau_subject")
    with op.batch_alter_table("bureau_inquiry", schema=None) as batch_op:
        batch_op.drop_index("ix_bureau_inquiry_subject")

    op.drop_table("bureau_inquiry")
    with op.batch_alter_table("bureau_credit_account", schema=None) as batch_op:
        batch_op.drop_index("ix_bureau_credit_account_subject")

    op.drop_table("bureau_credit_account")
