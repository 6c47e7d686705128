"""events: the outbox, event subscriptions, push deliveries, the SET signing key

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, openbank_kit.db.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "event_record",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.JSON(), nullable=False),
        sa.Column("txn", sa.String(length=128), nullable=False),
        _when("toe"),
        _when("created_at"),
        _when("acked_at", nullable=True),
        sa.Column("set_error", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("jti"),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_event_record_event_id"),
    )
    op.create_index("ix_event_record_client", "event_record", ["tenant_id", "client_id", "seq"])
    op.create_table(
        "event_subscription",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("callback_url", sa.String(length=500), nullable=True),
        sa.Column("version", sa.String(length=10), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("fault", sa.String(length=40), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("tenant_id", "subscription_id"),
        sa.UniqueConstraint("tenant_id", "client_id", name="uq_event_subscription_client"),
    )
    op.create_table(
        "event_delivery",
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("callback_url", sa.String(length=500), nullable=False),
        sa.Column("fault", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.JSON(), nullable=False),
        _when("next_attempt_at"),
        sa.Column("set_jwt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    op.create_index("ix_event_delivery_due", "event_delivery", ["status", "next_attempt_at"])
    op.create_index("ix_event_delivery_tenant_id", "event_delivery", ["tenant_id"])
    op.create_table(
        "event_signing_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_jwk", sa.JSON(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("kid"),
    )


def downgrade() -> None:
    op.drop_table("event_signing_key")
    op.drop_index("ix_event_delivery_tenant_id", table_name="event_delivery")
    op.drop_index("ix_event_delivery_due", table_name="event_delivery")
    op.drop_table("event_delivery")
    op.drop_table("event_subscription")
    op.drop_index("ix_event_record_client", table_name="event_record")
    op.drop_table("event_record")
