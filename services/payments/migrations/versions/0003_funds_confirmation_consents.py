"""funds confirmation (CBPII) consents

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 18:31:00
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
    op.create_table(
        "funds_confirmation_consent",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("debtor_account", sa.JSON(), nullable=False),
        sa.Column("debtor_identification", sa.String(length=34), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("debtor_account_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status_updated_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "consent_id"),
    )


def downgrade() -> None:
    op.drop_table("funds_confirmation_consent")
