"""The day counters behind the transfer limits (services/payments/outflow.py): one upsert per counter that adds the
amount and returns the new total, a breach taken back in the same unit of work, and no limit passed by racing
payments, also on the first payment of a day, when the rows do not exist yet."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import delete, select

from services.payments.domain.limits import CUSTOMER_DAILY_OUTFLOW_FEN
from services.payments.models import AccountOutflowDay, CustomerOutflowDay
from services.payments.outflow import count_outflow, give_back_outflow

DAY = date(2026, 12, 3)


@pytest.fixture
def counters(stack):
    """A tenant id of its own for the counter rows (nothing else is needed); its rows are deleted afterwards."""
    db = stack.db("payments")
    tenant_id = "cnt-" + secrets.token_hex(4)
    yield db, tenant_id
    with db.write_session() as session:
        session.execute(delete(AccountOutflowDay).where(AccountOutflowDay.tenant_id == tenant_id))
        session.execute(delete(CustomerOutflowDay).where(CustomerOutflowDay.tenant_id == tenant_id))
        session.commit()


def _count(
    db, tenant_id: str, account_id: str, account_class: str, customer_id: str, amount_fen: int, day=DAY
):
    with db.write_session() as session:
        refused = count_outflow(session, tenant_id, account_id, account_class, customer_id, amount_fen, day)
        session.commit()
        return refused


def _totals(db, tenant_id: str) -> tuple[dict, dict]:
    with db.read_session() as session:
        accounts = {(r.account_id, r.day): r.outflow_fen
                    for r in session.scalars(select(AccountOutflowDay).where(AccountOutflowDay.tenant_id == tenant_id))}  # fmt: skip
        customers = {(r.customer_id, r.day): r.outflow_fen
                     for r in session.scalars(select(CustomerOutflowDay).where(CustomerOutflowDay.tenant_id == tenant_id))}  # fmt: skip
        return accounts, customers


def test_counting_adds_to_both_counters_and_a_breach_leaves_them_as_they_were(counters):
    db, tenant_id = counters
    assert _count(db, tenant_id, "ACC-II", "II", "CUS1", 600_000) is None
    accounts, customers = _totals(db, tenant_id)
    assert accounts == {("ACC-II", DAY): 600_000} and customers == {("CUS1", DAY): 600_000}

    # The Class Ⅱ daily ¥10,000: ¥5,000 more would pass it; nothing is counted.
    code, reason = _count(db, tenant_id, "ACC-II", "II", "CUS1", 500_000)
    assert code == "AM14" and reason.startswith("CLASS_II_DAILY_OUTFLOW_LIMIT")
    assert _totals(db, tenant_id) == (accounts, customers)

    # The customer's ¥50,000 across accounts: the Class Ⅰ account's own counter is given its amount back too.
    assert _count(db, tenant_id, "ACC-I", "I", "CUS1", CUSTOMER_DAILY_OUTFLOW_FEN - 600_000) is None
    code, reason = _count(db, tenant_id, "ACC-I", "I", "CUS1", 1)
    assert code == "AM14" and reason.startswith("CUSTOMER_DAILY_TRANSFER_LIMIT")
    accounts, customers = _totals(db, tenant_id)
    assert accounts[("ACC-I", DAY)] == CUSTOMER_DAILY_OUTFLOW_FEN - 600_000
    assert customers == {("CUS1", DAY): CUSTOMER_DAILY_OUTFLOW_FEN}

    with db.write_session() as session:
        give_back_outflow(session, tenant_id, "ACC-II", "II", "CUS1", 600_000, DAY)
        session.commit()
    accounts, customers = _totals(db, tenant_id)
    assert accounts[("ACC-II", DAY)] == 0 and customers == {
        ("CUS1", DAY): CUSTOMER_DAILY_OUTFLOW_FEN - 600_000
    }


def test_the_annual_limit_counts_the_earlier_days_of_the_year_only(counters):
    db, tenant_id = counters
    assert _count(db, tenant_id, "ACC-III", "III", "CUS3", 200_000, date(2025, 12, 31)) is None  # last year
    for n in range(25):  # ¥2,000 a day (the Class Ⅲ daily limit) for 25 days: the year's ¥50,000
        assert _count(db, tenant_id, "ACC-III", "III", "CUS3", 200_000, date(2026, 1, n + 1)) is None
    code, reason = _count(db, tenant_id, "ACC-III", "III", "CUS3", 1, date(2026, 12, 9))
    assert code == "AM14" and reason.startswith("CLASS_III_ANNUAL_OUTFLOW_LIMIT")
    accounts, customers = _totals(db, tenant_id)
    assert (
        accounts[("ACC-III", date(2026, 12, 9))] == 0 and customers.get(("CUS3", date(2026, 12, 9)), 0) == 0
    )
    assert _count(db, tenant_id, "ACC-III", "III", "CUS3", 200_000, date(2027, 1, 1)) is None  # a new year


def test_racing_first_payments_of_the_day_never_pass_a_limit(counters, backend):
    if backend != "postgresql":
        pytest.skip("concurrency is tested against real PostgreSQL")
    db, tenant_id = counters
    racers = 16
    start = threading.Barrier(racers)

    def one(n: int):
        start.wait()
        # ¥3,000 each from two Class Ⅱ accounts of one customer (¥10,000 a day each), and from Class Ⅰ accounts
        # of another (no class limit, the customer's ¥50,000 a day): both counters race on rows not yet there.
        if n % 2:
            return _count(db, tenant_id, f"ACC-II-{n % 4}", "II", "CUS-A", 300_000)
        return _count(db, tenant_id, f"ACC-I-{n % 4}", "I", "CUS-B", 1_500_000)

    with ThreadPoolExecutor(racers) as pool:
        outcomes = list(pool.map(one, range(racers)))
    accounts, customers = _totals(db, tenant_id)
    passed_a = [n for n in range(1, racers, 2) if outcomes[n] is None]
    passed_b = [n for n in range(0, racers, 2) if outcomes[n] is None]
    assert len(passed_a) == 6  # three per Class Ⅱ account: ¥9,000 of its ¥10,000
    assert len(passed_b) == 3  # ¥45,000 of the customer's ¥50,000
    assert customers == {("CUS-A", DAY): 6 * 300_000, ("CUS-B", DAY): 3 * 1_500_000}
    assert accounts[("ACC-II-1", DAY)] == accounts[("ACC-II-3", DAY)] == 3 * 300_000
    assert accounts[("ACC-I-0", DAY)] + accounts[("ACC-I-2", DAY)] == 3 * 1_500_000
    assert all(code == "AM14" for code, _ in (o for o in outcomes if o is not None))
