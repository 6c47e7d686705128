"""`openbank ledger verify`: every invariant holds on a fresh world, and a corrupted row is found."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from services.accounts.ledger_verify import verify_tenant
from services.accounts.models import LedgerHold, Posting
from tests.cli.test_cli import openbank


def test_a_fresh_tenant_verifies_clean_and_each_corruption_is_reported(stack, new_tenant):
    tenant_id, _ = new_tenant("verify")
    db = stack.db("accounts")
    clean = verify_tenant(db, tenant_id)
    assert clean.breach_count == 0 and clean.transactions > 30000, clean.breaches
    with db.write_session() as session:  # one leg of one transfer grows by a fen
        if (
            db.is_postgresql
        ):  # the database refuses UPDATEs of postings; a test superuser switches triggers off
            session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(
            update(Posting)
            .where(Posting.tenant_id == tenant_id, Posting.posting_id == "TX00000002-2")
            .values(amount_fen=Posting.amount_fen + 1)
        )
        session.add(LedgerHold(tenant_id=tenant_id, hold_id="hold_bad", account_id="ACC0000006",
                               amount_fen=10**9, status="PLACED", description="x",
                               created_at=clean_time(), status_updated_at=clean_time()))  # fmt: skip
        session.commit()
    report = verify_tenant(db, tenant_id)
    listed = "\n".join(report.breaches)
    assert "TX00000002 does not balance" in listed
    assert "ACC0000006 is below zero" in listed  # the hold exceeds what the account has


def clean_time():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_the_cli_exits_non_zero_on_a_breach(tmp_path):
    env = {"OPENBANK_VAR_DIR": str(tmp_path / "var")}
    seeded = openbank("seed", "--tenant", "team-v", env=env)
    assert seeded.returncode == 0, seeded.stderr
    result = openbank("ledger", "verify", "--tenant", "team-v", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "team-v" in result.stdout and "OK" in result.stdout
    with sqlite3.connect(tmp_path / "var" / "accounts.db") as connection:
        connection.execute(
            "UPDATE posting SET amount_fen = amount_fen - 500 WHERE tenant_id = 'team-v' AND posting_id = 'TX00000003-1'"
        )
    result = openbank("ledger", "verify", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TX00000003 does not balance" in result.stdout
    assert "Traceback" not in result.stderr
    unknown = openbank("ledger", "verify", "--tenant", "nobody", env=env)
    assert unknown.returncode == 2 and "no ledger for tenant" in unknown.stderr


def test_postgresql_refuses_to_update_a_posting(stack, new_tenant, backend):
    if backend != "postgresql":
        pytest.skip("the immutability trigger is PostgreSQL's")
    tenant_id, _ = new_tenant("immutable")
    with stack.db("accounts").write_session() as session, pytest.raises(DBAPIError, match="immutable"):
        session.execute(update(Posting).where(Posting.tenant_id == tenant_id).values(amount_fen=0))
