"""postings and ledger transactions are immutable (PostgreSQL enforces it)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:35:00

The rule is kept in Python (nothing updates a posting) and, on PostgreSQL, a second time by the database: an UPDATE of
`posting` or `ledger_transaction` raises. Inserts (postings, tenant copies) and deletes (tenant reset/drop) are
unaffected. SQLite has no such trigger here; `openbank ledger verify` catches an edited amount there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("posting", "ledger_transaction")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION ledger_rows_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger rows are immutable (% on %): correct with a reversal', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_rows_are_immutable()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ledger_rows_are_immutable()")
