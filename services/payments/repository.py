"""Payments' queries: the only module that knows SQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

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


def payments_in_status(session: Session, tenant_id: str, statuses: list[str], limit: int) -> list[str]:
    query = (
        select(DomesticPayment.payment_id)
        .where(DomesticPayment.tenant_id == tenant_id, DomesticPayment.status.in_(statuses))
        .order_by(DomesticPayment.payment_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _locked_day_counter(session: Session, model, day: date, **key: str):
    """A per-day counter row (created if missing), locked until the unit of work ends."""
    query = select(model).where(
        *(getattr(model, name) == value for name, value in key.items()), model.day == day
    )
    row = session.scalars(query.with_for_update()).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():  # a concurrent first payment of the day may insert it first
            session.add(model(**key, day=day, outflow_fen=0))
    except IntegrityError:
        pass
    row = session.scalars(query.with_for_update()).first()
    assert row is not None
    return row


def locked_outflow_day(session: Session, tenant_id: str, account_id: str, day: date) -> AccountOutflowDay:
    """The account's counter for `day`, locked until the unit of work ends."""
    return _locked_day_counter(session, AccountOutflowDay, day, tenant_id=tenant_id, account_id=account_id)


def locked_customer_outflow_day(
    session: Session, tenant_id: str, customer_id: str, day: date
) -> CustomerOutflowDay:
    """The customer's counter for `day` (all their accounts), locked until the unit of work ends."""
    return _locked_day_counter(session, CustomerOutflowDay, day, tenant_id=tenant_id, customer_id=customer_id)


def outflow_between_fen(session: Session, tenant_id: str, account_id: str, first: date, last: date) -> int:
    query = select(func.coalesce(func.sum(AccountOutflowDay.outflow_fen), 0)).where(
        AccountOutflowDay.tenant_id == tenant_id,
        AccountOutflowDay.account_id == account_id,
        AccountOutflowDay.day >= first,
        AccountOutflowDay.day <= last,
    )
    return int(session.scalar(query) or 0)


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
