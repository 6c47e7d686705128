"""revoked tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 16:11:22.636980
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
        "revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )


def downgrade() -> None:
    op.drop_table("revoked_token")
