"""developer portal: developer accounts, portal sessions, classrooms

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbank_kit.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "developer_account",
        sa.Column("developer_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_scrypt", sa.String(length=128), nullable=False),
        sa.Column("password_salt", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("initial_access_token", sa.String(length=100), nullable=False),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("developer_id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("tenant_id"),
    )
    op.create_table(
        "portal_session",
        sa.Column("session_sha256", sa.String(length=64), nullable=False),
        sa.Column("developer_id", sa.String(length=40), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("persona_username", sa.String(length=64), nullable=True),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_sha256"),
    )
    op.create_index(op.f("ix_portal_session_developer_id"), "portal_session", ["developer_id"], unique=False)
    op.create_table(
        "classroom",
        sa.Column("classroom_id", sa.String(length=40), nullable=False),
        sa.Column("developer_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("classroom_id"),
    )
    op.create_index(op.f("ix_classroom_developer_id"), "classroom", ["developer_id"], unique=False)
    op.create_table(
        "classroom_team",
        sa.Column("classroom_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("team_name", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("initial_access_token", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_secret", sa.String(length=100), nullable=False),
        sa.Column("created_at", openbank_kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("classroom_id", "position"),
        sa.UniqueConstraint("tenant_id"),
    )


def downgrade() -> None:
    op.drop_table("classroom_team")
    op.drop_index(op.f("ix_classroom_developer_id"), table_name="classroom")
    op.drop_table("classroom")
    op.drop_index(op.f("ix_portal_session_developer_id"), table_name="portal_session")
    op.drop_table("portal_session")
    op.drop_table("developer_account")
