"""Payments' queries: the only module that knows SQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from openbank_kit.db import insert_with_conflict_clause
from services.payments.models import (
    AccountOutflowDay,
    CustomerOutflowDay,
    DomesticPayment,
    DomesticPaymentConsent,
    FundsConfirmationConsent,
)


def _locked(query, for_update: bool):
    return query.with_for_update() if for_update else query


def consent(
    session: Session, tenant_id: str, consent_id: str, *, for_update: bool = False
) -> DomesticPaymentConsent | None:
    query = select(DomesticPaymentConsent).where(
        DomesticPaymentConsent.tenant_id == tenant_id, DomesticPaymentConsent.consent_id == consent_id
    )
    return session.scalars(_locked(query, for_update)).first()


def funds_consent(
    session: Session, tenant_id: str, consent_id: str, *, for_update: bool = False
) -> FundsConfirmationConsent | None:
    query = select(FundsConfirmationConsent).where(
        FundsConfirmationConsent.tenant_id == tenant_id, FundsConfirmationConsent.consent_id == consent_id
    )
    return session.scalars(_locked(query, for_update)).first()


def payment(
    session: Session, tenant_id: str, payment_id: str, *, for_update: bool = False
) -> DomesticPayment | None:
    query = select(DomesticPayment).where(
        DomesticPayment.tenant_id == tenant_id, DomesticPayment.payment_id == payment_id
    )
    return session.scalars(_locked(query, for_update)).first()


def record_payment_outcome(
    session: Session, tenant_id: str, payment_id: str, status: str, ledger_transaction_id: str | None,
    reason_code: str | None, reason: str | None, now: datetime,
) -> bool:  # fmt: skip
    """A RCVD payment's outcome, in one conditional UPDATE (it locks the row until the unit of work ends); False
    when the payment is no longer RCVD (another request recorded it first), and nothing changes."""
    table = DomesticPayment.__table__
    update = (
        table.update()
        .where(table.c.tenant_id == tenant_id, table.c.payment_id == payment_id, table.c.status == "RCVD")
        .values(status=status, ledger_transaction_id=ledger_transaction_id, status_reason_code=reason_code,
                status_reason=reason, status_updated_at=now)
    )  # fmt: skip
    changed = session.execute(update).rowcount
    assert changed in (0, 1)
    return changed == 1


def payments_in_status(session: Session, tenant_id: str, statuses: list[str], limit: int) -> list[str]:
    query = (
        select(DomesticPayment.payment_id)
        .where(DomesticPayment.tenant_id == tenant_id, DomesticPayment.status.in_(statuses))
        .order_by(DomesticPayment.payment_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _counter_key(model, key: dict[str, str], day: date):
    table = model.__table__
    return table, [table.c[name] == value for name, value in key.items()] + [table.c.day == day]


def _add_to_day_counter(session: Session, model, day: date, amount_fen: int, key: dict[str, str], extra=()):
    """Add to a per-day counter row in one statement, creating it if missing (`INSERT … ON CONFLICT DO UPDATE …
    RETURNING`, PostgreSQL and SQLite ≥ 3.35): the row stays locked until the unit of work ends (PostgreSQL row
    lock; SQLite's write sessions hold the database's write lock), so the new total it returns already counts every
    concurrent payment that committed before, and none can commit past it until this one ends."""
    table = model.__table__
    insert = insert_with_conflict_clause(session, table).values(**key, day=day, outflow_fen=amount_fen)
    upsert = insert.on_conflict_do_update(
        index_elements=[*key, "day"], set_={"outflow_fen": table.c.outflow_fen + insert.excluded.outflow_fen}
    ).returning(table.c.outflow_fen, *extra)
    row = session.execute(upsert).one()
    assert row[0] >= 0
    return row


def add_account_outflow(
    session: Session, tenant_id: str, account_id: str, day: date, amount_fen: int
) -> tuple[int, int]:
    """Add `amount_fen` to the account's counter for `day` (locked until the unit of work ends); returns (the day's
    new total, the sum of the year's earlier days) in the same statement, for the daily and annual class limits."""
    earlier = AccountOutflowDay.__table__.alias("earlier_day")
    earlier_days_fen = (
        select(func.coalesce(func.sum(earlier.c.outflow_fen), 0))
        .where(
            earlier.c.tenant_id == tenant_id,
            earlier.c.account_id == account_id,
            earlier.c.day >= date(day.year, 1, 1),
            earlier.c.day < day,
        )
        .scalar_subquery()
    )
    key = {"tenant_id": tenant_id, "account_id": account_id}
    day_fen, year_fen = _add_to_day_counter(
        session, AccountOutflowDay, day, amount_fen, key, (earlier_days_fen,)
    )
    return int(day_fen), int(year_fen)


def add_customer_outflow(
    session: Session, tenant_id: str, customer_id: str, day: date, amount_fen: int
) -> int:
    """Add `amount_fen` to the customer's counter for `day` (all their accounts), locked until the unit of work
    ends; the day's new total."""
    key = {"tenant_id": tenant_id, "customer_id": customer_id}
    return int(_add_to_day_counter(session, CustomerOutflowDay, day, amount_fen, key)[0])


def _take_from_day_counter(session: Session, model, day: date, amount_fen: int, key: dict[str, str]) -> int:
    """Take back what was added to an existing counter row (one locking UPDATE … RETURNING); the new total."""
    table, where = _counter_key(model, key, day)
    update = table.update().where(*where).values(outflow_fen=table.c.outflow_fen - amount_fen)
    total = session.execute(
        update.returning(table.c.outflow_fen)
    ).scalar_one()  # counted before: the row exists
    assert total >= 0, "a counter gives back no more than was counted"
    return int(total)


def take_account_outflow(
    session: Session, tenant_id: str, account_id: str, day: date, amount_fen: int
) -> int:
    key = {"tenant_id": tenant_id, "account_id": account_id}
    return _take_from_day_counter(session, AccountOutflowDay, day, amount_fen, key)


def take_customer_outflow(
    session: Session, tenant_id: str, customer_id: str, day: date, amount_fen: int
) -> int:
    key = {"tenant_id": tenant_id, "customer_id": customer_id}
    return _take_from_day_counter(session, CustomerOutflowDay, day, amount_fen, key)


def _locked_day_total(session: Session, model, day: date, key: dict[str, str]) -> int:
    """A counter's total for `day`, its row locked until the unit of work ends (0, and nothing locked, if none)."""
    table, where = _counter_key(model, key, day)
    total = session.execute(select(table.c.outflow_fen).where(*where).with_for_update()).scalar_one_or_none()
    return int(total or 0)


def locked_account_day_total(session: Session, tenant_id: str, account_id: str, day: date) -> int:
    """What the account's counter holds for `day`, locked until the unit of work ends."""
    return _locked_day_total(
        session, AccountOutflowDay, day, {"tenant_id": tenant_id, "account_id": account_id}
    )


def locked_customer_day_total(session: Session, tenant_id: str, customer_id: str, day: date) -> int:
    """What the customer's counter holds for `day` (all their accounts), locked until the unit of work ends."""
    key = {"tenant_id": tenant_id, "customer_id": customer_id}
    return _locked_day_total(session, CustomerOutflowDay, day, key)


def consents_of_customer(
    session: Session, tenant_id: str, customer_id: str, limit: int
) -> list[DomesticPaymentConsent]:
    query = (
        select(DomesticPaymentConsent)
        .where(
            DomesticPaymentConsent.tenant_id == tenant_id, DomesticPaymentConsent.customer_id == customer_id
        )
        .order_by(DomesticPaymentConsent.created_at.desc(), DomesticPaymentConsent.consent_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def funds_consents_of_customer(
    session: Session, tenant_id: str, customer_id: str, limit: int
) -> list[FundsConfirmationConsent]:
    query = (
        select(FundsConfirmationConsent)
        .where(
            FundsConfirmationConsent.tenant_id == tenant_id,
            FundsConfirmationConsent.customer_id == customer_id,
        )
        .order_by(FundsConfirmationConsent.created_at.desc(), FundsConfirmationConsent.consent_id)
        .limit(limit)
    )
    return list(session.scalars(query))
