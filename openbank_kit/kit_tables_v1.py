"""The kit's own tables (clock, idempotency, world templates) as every service's first migration creates them.

Frozen: a later change to these tables is a new migration in each service, never an edit here.
"""

import sqlalchemy as sa
from alembic import op

import openbank_kit.db


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("operation", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "client_id", "operation", "key"),
    )
    op.create_table(
        "tenant_clock",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("offset_s", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "world_template",
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("config_json", sa.String(), nullable=False),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("template_id"),
    )


def downgrade() -> None:
    op.drop_table("world_template")
    op.drop_table("tenant_clock")
    op.drop_table("idempotency_record")
