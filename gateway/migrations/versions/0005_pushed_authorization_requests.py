"""pushed authorization requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 16:24:21.490027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pushed_authorization_request",
        sa.Column("request_uri", sa.String(length=120), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("dpop_jkt", sa.String(length=64), nullable=True),
        sa.Column("expires_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_uri"),
    )


def downgrade() -> None:
    op.drop_table("pushed_authorization_request")
