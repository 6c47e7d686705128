"""authorization interactions, codes and grants

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "authorization_interaction",
        sa.Column("interaction_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("dpop_jkt", sa.String(length=64), nullable=True),
        sa.Column("browser_secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=True),
        sa.Column("expires_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("interaction_id"),
    )
    op.create_table(
        "authorization_code",
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1000), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=10), nullable=False),
        sa.Column("intent_id", sa.String(length=64), nullable=True),
        sa.Column("dpop_jkt", sa.String(length=64), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("expires_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code_sha256"),
    )
    op.create_table(
        "oauth_grant",
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("intent_id", sa.String(length=64), nullable=True),
        sa.Column("refresh_token_sha256", sa.String(length=64), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("grant_id"),
        sa.UniqueConstraint("refresh_token_sha256"),
    )
    op.create_index(op.f("ix_oauth_grant_tenant_id"), "oauth_grant", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_oauth_grant_tenant_id"), table_name="oauth_grant")
    op.drop_table("oauth_grant")
    op.drop_table("authorization_code")
    op.drop_table("authorization_interaction")
