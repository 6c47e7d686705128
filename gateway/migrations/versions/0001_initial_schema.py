"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-02 14:52:55.053694
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
        "sandbox_user",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=140), nullable=False),
        sa.Column("is_persona", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "username"),
    )
    op.create_table(
        "tenant",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("initial_access_token_sha256", sa.String(length=64), nullable=False),
        sa.Column("world_seed", sa.Integer(), nullable=False),
        sa.Column("world_as_of", sa.Date(), nullable=False),
        sa.Column("world_retail_customers", sa.Integer(), nullable=False),
        sa.Column("world_smes", sa.Integer(), nullable=False),
        sa.Column("clock_offset_s", sa.BigInteger(), nullable=False),
        sa.Column("tokens_valid_after", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
        sa.UniqueConstraint("initial_access_token_sha256"),
    )


def downgrade() -> None:
    kit_tables_v1.downgrade()
    op.drop_table("tenant")
    op.drop_table("sandbox_user")
