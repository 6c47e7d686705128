"""app settings: per-app fault toggles and rate limits (sandbox)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00.000000
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
        "app_setting",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("faults", sa.JSON(), nullable=False),
        sa.Column("rate_limit_per_s", sa.Integer(), nullable=True),
        sa.Column("updated_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "client_id"),
    )


def downgrade() -> None:
    op.drop_table("app_setting")
