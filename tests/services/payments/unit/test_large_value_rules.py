"""Large-value report rules (pure) and the once-a-day record, on the payments tables in SQLite."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, event
from sqlmodel import Session, select

from services.payments import repository
from services.payments.domain.large_value import (
    CORPORATE_TRANSFER,
    PERSONAL_DOMESTIC_TRANSFER,
    reaches_threshold,
    rule_for,
)
from services.payments.domain.limits import (
    CORPORATE_DAILY_OUTFLOW_FEN,
    check_corporate_outflow,
    counts_against_customer_limit,
)
from services.payments.large_value import lock_holder_day, record_if_reached
from services.payments.models import ALL_TABLES, DomesticPayment, DomesticPaymentConsent, LargeValueRecord

DAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)


def test_thresholds_are_the_pboc_figures_and_include_the_figure_itself():
    assert rule_for("I") is rule_for("II") is rule_for("III") is PERSONAL_DOMESTIC_TRANSFER
    assert rule_for("BUSINESS") is CORPORATE_TRANSFER and rule_for("INTERNAL") is None
    assert (
        PERSONAL_DOMESTIC_TRANSFER.threshold_fen == 50_000_000
        and PERSONAL_DOMESTIC_TRANSFER.reason_code == "0503"
    )
    assert CORPORATE_TRANSFER.threshold_fen == 200_000_000 and CORPORATE_TRANSFER.reason_code == "0502"
    assert reaches_threshold(PERSONAL_DOMESTIC_TRANSFER, 0, 50_000_000)  # 以上: ¥500,000 itself is reported
    assert not reaches_threshold(PERSONAL_DOMESTIC_TRANSFER, 0, 49_999_999)
    assert reaches_threshold(CORPORATE_TRANSFER, 150_000_000, 50_000_000)  # cumulative over the day


@given(earlier=st.integers(min_value=0, max_value=10**10), amount=st.integers(min_value=1, max_value=10**10))
def test_reaching_is_exactly_the_sum_at_or_above_the_threshold(earlier, amount):
    for rule in (PERSONAL_DOMESTIC_TRANSFER, CORPORATE_TRANSFER):
        assert reaches_threshold(rule, earlier, amount) is (earlier + amount >= rule.threshold_fen)


def test_corporate_accounts_have_their_own_daily_limit_outside_the_customers():
    assert not counts_against_customer_limit("BUSINESS") and counts_against_customer_limit("I")
    assert check_corporate_outflow(CORPORATE_DAILY_OUTFLOW_FEN, 0) is None
    assert check_corporate_outflow(1, CORPORATE_DAILY_OUTFLOW_FEN).code == "CORPORATE_DAILY_TRANSFER_LIMIT"


@pytest.fixture
def session():
    engine = create_engine("sqlite://")

    @event.listens_for(engine, "begin")
    def _begin(conn):  # SAVEPOINTs need SQLAlchemy to issue BEGIN itself on pysqlite
        conn.exec_driver_sql("BEGIN")

    for table in ALL_TABLES:
        table.create(engine)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def _paid(session: Session, n: int, amount_fen: int, account_class: str = "I", customer: str = "CUS000001"):
    consent = DomesticPaymentConsent(
        tenant_id="t", consent_id=f"pdc{n}", client_id="c", status="COND", initiation={}, risk={},
        amount_fen=amount_fen, creditor_identification="6219990000000000036", creditor_name="李娜",
        customer_id=customer, debtor_account_id=f"ACC-{customer}", debtor_account_class=account_class,
        debtor_name="张伟", created_at=NOW, status_updated_at=NOW, expires_at=NOW,
    )  # fmt: skip
    payment = DomesticPayment(
        tenant_id="t", payment_id=f"dp{n}", consent_id=f"pdc{n}", client_id="c", customer_id=customer,
        status="ACCC", amount_fen=amount_fen, debtor_account_id=f"ACC-{customer}", credit_account_id="ACC9",
        outflow_day=DAY, ledger_transaction_id=f"txn{n}", created_at=NOW, status_updated_at=NOW,
    )  # fmt: skip
    session.add(consent)
    session.add(payment)
    session.flush()
    # Counted on its day counters before it was posted, as every payment is (services/payments/outflow.py).
    repository.add_account_outflow(session, "t", payment.debtor_account_id, DAY, amount_fen)
    if counts_against_customer_limit(account_class):
        repository.add_customer_outflow(session, "t", customer, DAY, amount_fen)
    counted_fen = lock_holder_day(session, payment, consent)
    return None if counted_fen is None else record_if_reached(session, payment, consent, NOW, counted_fen)


def test_a_personal_customer_reaching_500000_in_a_day_gets_one_record(session):
    assert _paid(session, 1, 30_000_000) is None
    record = _paid(session, 2, 20_000_000)
    assert record is not None and record.reason_code == "0503" and record.holder_kind == "PERSONAL"
    assert record.total_fen == 50_000_000 and record.payment_ids == ["dp1", "dp2"]
    assert _paid(session, 3, 10_000_000) is None  # once per customer and day
    assert _paid(session, 4, 60_000_000, customer="CUS000002") is not None  # another customer: their own
    session.commit()
    assert len(session.scalars(select(LargeValueRecord)).all()) == 2


def test_a_corporate_account_below_two_million_gets_no_record(session):
    assert _paid(session, 1, 199_999_999, account_class="BUSINESS", customer="CUS000101") is None
    assert session.scalars(select(LargeValueRecord)).all() == []
