"""audit records

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 16:17:15.112860
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_record",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("audit_id", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("interaction_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "audit_id"),
    )
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index("ix_audit_record_tenant_time", ["tenant_id", "recorded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_record_tenant_time")

    op.drop_table("audit_record")
