"""The day counters behind the transfer limits, shared by domestic payments and clock-driven executions.

Counting takes the debtor account's day row lock, then (personal accounts) the customer's, always in that order,
so concurrent payments cannot deadlock; giving back undoes exactly what counting added. One statement per counter:
an upsert that adds the amount and returns the new total (docs/payments.md "Account class limits").
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
    its own channel limit instead); the (reason code, reason) of the breach, if any, with nothing counted.

    Each counter is added to first (one upsert that locks its row and returns the new total), then checked; a
    breach takes the amount off again in the same unit of work, so a refusal leaves the counters as they were."""
    day_fen, earlier_days_fen = repository.add_account_outflow(
        session, tenant_id, account_id, day, amount_fen
    )
    customer_day_fen = None
    if counts_against_customer_limit(account_class):
        assert customer_id is not None
        customer_day_fen = repository.add_customer_outflow(session, tenant_id, customer_id, day, amount_fen)
    breach = outflow_breach(account_class, amount_fen, day_fen, earlier_days_fen, customer_day_fen)
    if breach is not None:
        give_back_outflow(session, tenant_id, account_id, account_class, customer_id, amount_fen, day)
    return breach


def outflow_breach(
    account_class: str, amount_fen: int, day_fen: int, earlier_days_fen: int, customer_day_fen: int | None
) -> tuple[str, str] | None:
    """The (reason code, reason) of the limit the payment breaks, from the counters' new totals (its amount counted
    in the account's day `day_fen` and, for a personal account, the customer's day `customer_day_fen`); None: it fits."""
    used_today_fen = day_fen - amount_fen
    breach = check_outflow(account_class, amount_fen, used_today_fen, earlier_days_fen + used_today_fen)
    if breach is None and not counts_against_customer_limit(account_class):
        breach = check_corporate_outflow(amount_fen, used_today_fen)
    elif breach is None:
        assert customer_day_fen is not None
        breach = check_customer_outflow(amount_fen, customer_day_fen - amount_fen)
    return None if breach is None else (REASON_LIMIT, f"{breach.code}: {breach.description}")


def give_back_outflow(
    session: Session, tenant_id: str, account_id: str, account_class: str, customer_id: str | None,
    amount_fen: int, day: date,
) -> None:  # fmt: skip
    """Nothing moved: take the amount off the counters `count_outflow` added it to (same lock order)."""
    repository.take_account_outflow(session, tenant_id, account_id, day, amount_fen)
    if counts_against_customer_limit(account_class):
        assert customer_id is not None
        repository.take_customer_outflow(session, tenant_id, customer_id, day, amount_fen)
