"""The day counters behind the transfer limits, shared by domestic payments and clock-driven executions.

Counting takes the debtor account's day row lock, then (personal accounts) the customer's, always in that order,
so concurrent payments cannot deadlock; giving back undoes exactly what counting added.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from services.payments import repository
from services.payments.domain.limits import (
    check_corporate_outflow,
    check_customer_outflow,
    check_outflow,
    counts_against_customer_limit,
)

REASON_LIMIT = "AM14"  # AmountExceedsAgreedLimit: the account class limits


def count_outflow(
    session: Session, tenant_id: str, account_id: str, account_class: str, customer_id: str | None,
    amount_fen: int, day: date,
) -> tuple[str, str] | None:  # fmt: skip
    """Count the amount against the account's class limits and the customer's daily limit (a corporate account:
    its own channel limit instead); the (reason code, reason) of the breach, if any, with nothing counted."""
    row = repository.locked_outflow_day(session, tenant_id, account_id, day)
    year_fen = repository.outflow_between_fen(session, tenant_id, account_id, date(day.year, 1, 1), day)
    breach = check_outflow(account_class, amount_fen, row.outflow_fen, year_fen)
    if breach is None and not counts_against_customer_limit(account_class):
        breach = check_corporate_outflow(amount_fen, row.outflow_fen)
        if breach is None:
            row.outflow_fen += amount_fen
            session.add(row)
            return None
    elif breach is None:
        assert customer_id is not None
        customer_row = repository.locked_customer_outflow_day(session, tenant_id, customer_id, day)
        breach = check_customer_outflow(amount_fen, customer_row.outflow_fen)
        if breach is None:
            row.outflow_fen += amount_fen
            customer_row.outflow_fen += amount_fen
            session.add(row)
            session.add(customer_row)
            return None
    return REASON_LIMIT, f"{breach.code}: {breach.description}"


def give_back_outflow(
    session: Session, tenant_id: str, account_id: str, account_class: str, customer_id: str | None,
    amount_fen: int, day: date,
) -> None:  # fmt: skip
    """Nothing moved: take the amount off the counters `count_outflow` added it to."""
    row = repository.locked_outflow_day(session, tenant_id, account_id, day)
    row.outflow_fen -= amount_fen
    assert row.outflow_fen >= 0
    session.add(row)
    if counts_against_customer_limit(account_class):
        assert customer_id is not None
        customer_row = repository.locked_customer_outflow_day(session, tenant_id, customer_id, day)
        customer_row.outflow_fen -= amount_fen
        assert customer_row.outflow_fen >= 0
        session.add(customer_row)
