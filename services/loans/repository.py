"""Loans' queries: the only module that knows SQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from services.loans.models import (
    BureauCreditAccount,
    BureauInquiry,
    BureauSubject,
    CreditDecision,
    FraudBlacklistEntry,
    LendingConsent,
    Loan,
    LoanApplication,
    LoanInstalment,
    LoanRepayment,
    TaxFiling,
    TaxProfile,
)

MAX_BUREAU_ROWS = (
    500  # a bureau file is a few dozen rows; the bound keeps a bad file from flooding a decision
)


def _locked(query, for_update: bool):
    return query.with_for_update() if for_update else query


def consent(
    session: Session, tenant_id: str, consent_id: str, *, for_update: bool = False
) -> LendingConsent | None:
    query = select(LendingConsent).where(
        LendingConsent.tenant_id == tenant_id, LendingConsent.consent_id == consent_id
    )
    return session.scalars(_locked(query, for_update)).first()


def application(
    session: Session, tenant_id: str, application_id: str, *, for_update: bool = False
) -> LoanApplication | None:
    query = select(LoanApplication).where(
        LoanApplication.tenant_id == tenant_id, LoanApplication.application_id == application_id
    )
    return session.scalars(_locked(query, for_update)).first()


def decision(session: Session, tenant_id: str, decision_id: str) -> CreditDecision | None:
    return session.get(CreditDecision, (tenant_id, decision_id))


def loan(session: Session, tenant_id: str, loan_id: str, *, for_update: bool = False) -> Loan | None:
    query = select(Loan).where(Loan.tenant_id == tenant_id, Loan.loan_id == loan_id)
    return session.scalars(_locked(query, for_update)).first()


def loan_for_application(session: Session, tenant_id: str, application_id: str) -> Loan | None:
    return session.scalars(
        select(Loan).where(Loan.tenant_id == tenant_id, Loan.application_id == application_id)
    ).first()


def instalments(
    session: Session, tenant_id: str, loan_id: str, *, include_cancelled: bool = False
) -> list[LoanInstalment]:
    query = select(LoanInstalment).where(
        LoanInstalment.tenant_id == tenant_id, LoanInstalment.loan_id == loan_id
    )
    if not include_cancelled:
        query = query.where(LoanInstalment.status != "CANCELLED")
    return list(session.scalars(query.order_by(LoanInstalment.sequence)))


def repayments(session: Session, tenant_id: str, loan_id: str) -> list[LoanRepayment]:
    return list(
        session.scalars(
            select(LoanRepayment)
            .where(LoanRepayment.tenant_id == tenant_id, LoanRepayment.loan_id == loan_id)
            .order_by(LoanRepayment.created_at, LoanRepayment.repayment_id)
        )
    )


def applications_since(session: Session, tenant_id: str, customer_id: str, since: datetime) -> int:
    query = select(func.count()).where(
        LoanApplication.tenant_id == tenant_id,
        LoanApplication.customer_id == customer_id,
        LoanApplication.created_at >= since,
    )
    return int(session.scalar(query) or 0)


def outstanding_principal_fen(
    session: Session, tenant_id: str, customer_id: str, product_ids: list[str]
) -> int:
    query = select(func.coalesce(func.sum(Loan.outstanding_principal_fen), 0)).where(
        Loan.tenant_id == tenant_id,
        Loan.customer_id == customer_id,
        Loan.product_id.in_(product_ids),
        Loan.status != "CLOSED",
    )
    return int(session.scalar(query) or 0)


def bureau_subject(session: Session, tenant_id: str, customer_id: str) -> BureauSubject | None:
    return session.get(BureauSubject, (tenant_id, customer_id))


def bureau_accounts(session: Session, tenant_id: str, customer_id: str) -> list[BureauCreditAccount]:
    query = (
        select(BureauCreditAccount)
        .where(BureauCreditAccount.tenant_id == tenant_id, BureauCreditAccount.customer_id == customer_id)
        .order_by(BureauCreditAccount.credit_account_id)
        .limit(MAX_BUREAU_ROWS)
    )
    return list(session.scalars(query))


def bureau_inquiries(session: Session, tenant_id: str, customer_id: str, since: date) -> list[BureauInquiry]:
    query = (
        select(BureauInquiry)
        .where(
            BureauInquiry.tenant_id == tenant_id,
            BureauInquiry.customer_id == customer_id,
            BureauInquiry.inquired_on >= since,
        )
        .order_by(BureauInquiry.inquiry_id)
        .limit(MAX_BUREAU_ROWS)
    )
    return list(session.scalars(query))


def blacklisted(session: Session, tenant_id: str, id_numbers: list[str]) -> bool:
    query = select(func.count()).where(
        FraudBlacklistEntry.tenant_id == tenant_id, FraudBlacklistEntry.id_number.in_(id_numbers)
    )
    return bool(session.scalar(query))


def tax_profile(session: Session, tenant_id: str, customer_id: str) -> TaxProfile | None:
    return session.get(TaxProfile, (tenant_id, customer_id))


def tax_filings(session: Session, tenant_id: str, customer_id: str, from_period: str) -> list[TaxFiling]:
    query = (
        select(TaxFiling)
        .where(
            TaxFiling.tenant_id == tenant_id,
            TaxFiling.customer_id == customer_id,
            TaxFiling.period >= from_period,
            TaxFiling.status == "FILED",
        )
        .order_by(TaxFiling.period)
        .limit(MAX_BUREAU_ROWS)
    )
    return list(session.scalars(query))


def open_loans(session: Session, tenant_id: str, limit: int) -> list[Loan]:
    query = (
        select(Loan)
        .where(Loan.tenant_id == tenant_id, Loan.status.in_(["DISBURSING", "ACTIVE", "OVERDUE"]))
        .order_by(Loan.loan_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def consents_of_customer(
    session: Session, tenant_id: str, customer_id: str, limit: int
) -> list[LendingConsent]:
    query = (
        select(LendingConsent)
        .where(LendingConsent.tenant_id == tenant_id, LendingConsent.customer_id == customer_id)
        .order_by(LendingConsent.created_at.desc(), LendingConsent.consent_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def recent_decisions(session: Session, tenant_id: str, limit: int) -> list[CreditDecision]:
    query = (
        select(CreditDecision)
        .where(CreditDecision.tenant_id == tenant_id)
        .order_by(CreditDecision.decided_at.desc(), CreditDecision.decision_id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def applications_by_id(
    session: Session, tenant_id: str, application_ids: list[str]
) -> dict[str, LoanApplication]:
    if not application_ids:
        return {}
    query = select(LoanApplication).where(
        LoanApplication.tenant_id == tenant_id, LoanApplication.application_id.in_(application_ids)
    )
    return {application.application_id: application for application in session.scalars(query)}


def blacklist_entries(session: Session, tenant_id: str, id_number: str) -> list[FraudBlacklistEntry]:
    query = (
        select(FraudBlacklistEntry)
        .where(FraudBlacklistEntry.tenant_id == tenant_id, FraudBlacklistEntry.id_number == id_number)
        .limit(MAX_BUREAU_ROWS)
    )
    return list(session.scalars(query))
