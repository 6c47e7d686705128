"""Loans' queries: the only module that knows SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import (
    Date,
    String,
    and_,
    bindparam,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session

from openbank_kit import sql
from openbank_kit.clock import TenantClock
from openbank_kit.db import UtcDateTime
from services.loans.models import (
    BureauCreditAccount,
    BureauInquiry,
    BureauSubject,
    CreditDecision,
    FraudBlacklistEntry,
    LedgerSnapshot,
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


_CONSENTS = LendingConsent.__table__
_THIS_CONSENT = and_(
    _CONSENTS.c.tenant_id == bindparam("tenant_id"), _CONSENTS.c.consent_id == bindparam("consent_id")
)
_CONSENT_ROW_LOCKED = select(_CONSENTS).where(_THIS_CONSENT).with_for_update()
_SET_CONSENT_STATUS = (  # an UPDATE's bound names may not be its columns' names
    update(_CONSENTS)
    .where(_CONSENTS.c.tenant_id == bindparam("b_tenant"), _CONSENTS.c.consent_id == bindparam("b_consent"))
    .values(
        status=bindparam("new_status", type_=_CONSENTS.c.status.type),
        status_updated_at=bindparam("at", type_=_CONSENTS.c.status_updated_at.type),
    )
)


# The decision's statements, for openbank_kit.sql batches (compiled once per dialect, run on the driver).
_CLOCK = TenantClock.__table__
_ASKED = select(bindparam("tenant_id", type_=String).label("tenant_id")).subquery("q")
_SNAPSHOTS = LedgerSnapshot.__table__
_NEWEST_SNAPSHOT = (
    _SNAPSHOTS.c.tenant_id == _ASKED.c.tenant_id,
    _SNAPSHOTS.c.customer_id == bindparam("customer_id"),
)


def _newest_snapshot(column):
    return (
        select(column).where(*_NEWEST_SNAPSHOT).order_by(_SNAPSHOTS.c.month.desc()).limit(1).scalar_subquery()
    )


# Always one row: the tenant's clock offset, the consent's parties (NULLs when there is no such consent), and the
# customer's newest ledger snapshot (its month and profile; it serves only if that month is still open).
CLOCK_AND_CONSENT_PARTIES = sql.Statement(
    select(
        _CLOCK.c.offset_s,
        _CONSENTS.c.client_id,
        _CONSENTS.c.customer_id,
        _CONSENTS.c.status,
        _CONSENTS.c.product_id,
        _newest_snapshot(_SNAPSHOTS.c.month).label("snapshot_month"),
        _newest_snapshot(_SNAPSHOTS.c.profile).label("snapshot_profile"),
    )
    .select_from(_ASKED)
    .outerjoin(_CLOCK, _CLOCK.c.tenant_id == _ASKED.c.tenant_id)
    .outerjoin(
        _CONSENTS,
        and_(_CONSENTS.c.tenant_id == _ASKED.c.tenant_id, _CONSENTS.c.consent_id == bindparam("consent_id")),
    )
)
CONSENT_LOCKED = sql.Statement(_CONSENT_ROW_LOCKED)
# A snapshot is written once per customer and month; two first decisions at once keep the first (the same answer).
SNAPSHOT_INSERTS = {
    dialect: sql.Statement(
        statement(_SNAPSHOTS)
        .values({c.name: bindparam(c.name, type_=c.type) for c in _SNAPSHOTS.columns})
        .on_conflict_do_nothing()
    )
    for dialect, statement in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}
SET_CONSENT_STATUS = sql.Statement(_SET_CONSENT_STATUS)


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


@dataclass(frozen=True)
class CreditFile:
    """What a decision reads from the bureau file, the blacklist and our own books, aggregated in the database."""

    first_credit_on: date | None  # the bureau's date, else the oldest credit account's
    blacklisted: bool
    applications_1h: int
    credit_accounts: int
    active_lenders: int
    loans_opened_3m: int
    credit_inquiries_3m: int
    credit_inquiries_6m: int
    overdue_count_24m: int
    max_overdue_days_24m: int
    current_overdue_fen: int
    bureau_monthly_payment_fen: int
    bank_outstanding_principal_fen: int


def credit_file_read(
    tenant_id: str,
    customer_id: str,
    *,
    id_numbers: list[str],
    now: datetime,
    inquiry_reasons: set[str],
    product_ids: list[str],
) -> tuple[sql.Statement, dict]:
    """One statement for the decision's hot path (it runs on every application): scalar subqueries over the
    bureau file, inquiries, blacklist (the given id numbers and the bureau's own), velocity and open loans."""
    today = now.date()
    assert 1 <= len(id_numbers) <= 2  # the customer's, and their business's for an SME loan
    person_id_number, business_id_number = (*id_numbers, None)[:2]
    return _credit_file_statement(tuple(sorted(inquiry_reasons)), tuple(product_ids)), {
        "tenant_id": tenant_id,
        "customer_id": customer_id,
        "person_id_number": person_id_number,
        "business_id_number": business_id_number,
        "since_1h": now - timedelta(hours=1),
        "three_months": today - timedelta(days=90),
        "six_months": today - timedelta(days=180),
    }


def credit_file_from(fetched: sql.Rows) -> CreditFile:
    row = fetched.one()
    first_credit_on = row[0]
    if isinstance(first_credit_on, str):  # SQLite returns COALESCE over dates untyped
        first_credit_on = date.fromisoformat(first_credit_on)
    return CreditFile(first_credit_on, bool(row[1]), *(int(value or 0) for value in row[2:]))


@cache
def _credit_file_statement(reasons: tuple[str, ...], product_ids: tuple[str, ...]) -> sql.Statement:
    """Built once with bound parameters: building and keying a statement this size costs more than running it.

    No expanding (IN-list) parameters: those make SQLAlchemy render the statement again on every call (the reasons
    and products are the process's constants, bound as fixed values). The bureau accounts are aggregated in one
    pass, and the tables carry one-letter aliases: the SQL stays under psycopg's 4 KB cache of converted queries.
    """
    tenant_id, customer_id = bindparam("tenant_id"), bindparam("customer_id")
    three_months, six_months = bindparam("three_months", type_=Date), bindparam("six_months", type_=Date)
    bca = aliased(BureauCreditAccount.__table__, name="a").c
    inq = aliased(BureauInquiry.__table__, name="i").c
    subject = aliased(BureauSubject.__table__, name="s").c
    listed_table = aliased(FraudBlacklistEntry.__table__, name="b").c
    applications = aliased(LoanApplication.__table__, name="p").c
    loans = aliased(Loan.__table__, name="l").c
    open_account = bca.status != "CLOSED"
    active_loan = and_(open_account, bca.account_type != "CREDIT_CARD")
    accounts = (
        select(
            func.min(bca.opened_on).label("first_opened_on"),
            func.count().label("credit_accounts"),
            func.count(distinct(case((active_loan, bca.lender_name)))).label("active_lenders"),
            func.count(case((and_(active_loan, bca.opened_on >= three_months), 1))).label("loans_opened_3m"),
            func.coalesce(func.sum(bca.overdue_count_24m), 0).label("overdue_count_24m"),
            func.coalesce(func.max(bca.max_overdue_days_24m), 0).label("max_overdue_days_24m"),
            func.coalesce(func.sum(bca.current_overdue_fen), 0).label("current_overdue_fen"),
            func.coalesce(func.sum(case((open_account, bca.monthly_payment_fen), else_=0)), 0).label(
                "monthly_fen"
            ),
        )
        .where(bca.tenant_id == tenant_id, bca.customer_id == customer_id)
        .subquery("c")
    )
    this_subject = and_(subject.tenant_id == tenant_id, subject.customer_id == customer_id)
    credit_inquiry = and_(
        inq.tenant_id == tenant_id,
        inq.customer_id == customer_id,
        or_(*(inq.reason == bindparam(f"reason_{n}", value) for n, value in enumerate(reasons))),
        inq.inquired_on >= six_months,
    )
    listed = exists().where(
        listed_table.tenant_id == tenant_id,
        or_(
            listed_table.id_number == bindparam("person_id_number"),
            listed_table.id_number == bindparam("business_id_number"),
            listed_table.id_number == select(subject.id_number).where(this_subject).scalar_subquery(),
        ),
    )
    statement = select(
        func.coalesce(
            select(subject.first_credit_on).where(this_subject).scalar_subquery(), accounts.c.first_opened_on
        ),
        case((listed, literal(1)), else_=literal(0)),
        select(func.count())
        .where(
            applications.tenant_id == tenant_id,
            applications.customer_id == customer_id,
            applications.created_at >= bindparam("since_1h", type_=UtcDateTime),
        )
        .scalar_subquery(),
        accounts.c.credit_accounts,
        accounts.c.active_lenders,
        accounts.c.loans_opened_3m,
        select(func.count()).where(credit_inquiry, inq.inquired_on >= three_months).scalar_subquery(),
        select(func.count()).where(credit_inquiry).scalar_subquery(),
        accounts.c.overdue_count_24m,
        accounts.c.max_overdue_days_24m,
        accounts.c.current_overdue_fen,
        accounts.c.monthly_fen,
        select(func.coalesce(func.sum(loans.outstanding_principal_fen), 0))
        .where(
            loans.tenant_id == tenant_id,
            loans.customer_id == customer_id,
            or_(
                *(loans.product_id == bindparam(f"product_{n}", value) for n, value in enumerate(product_ids))
            ),
            loans.status != "CLOSED",
        )
        .scalar_subquery(),
    ).select_from(accounts)
    return sql.Statement(statement)


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


def tax_profile(session: Session, tenant_id: str, customer_id: str) -> TaxProfile | None:
    return session.get(TaxProfile, (tenant_id, customer_id))


@dataclass(frozen=True)
class TaxProfileFacts:
    registered_on: date
    tax_credit_grade: str


@dataclass(frozen=True)
class TaxFilingFacts:
    period: str
    revenue_fen: int
    vat_fen: int
    income_tax_fen: int


_TAX_PROFILE = sql.Statement(
    select(TaxProfile.registered_on, TaxProfile.tax_credit_grade).where(
        TaxProfile.tenant_id == bindparam("tenant_id"), TaxProfile.customer_id == bindparam("customer_id")
    )
)
_TAX_FILINGS = sql.Statement(
    select(TaxFiling.period, TaxFiling.revenue_fen, TaxFiling.vat_fen, TaxFiling.income_tax_fen)
    .where(
        TaxFiling.tenant_id == bindparam("tenant_id"),
        TaxFiling.customer_id == bindparam("customer_id"),
        TaxFiling.period >= bindparam("from_period"),
        TaxFiling.status == "FILED",
    )
    .order_by(TaxFiling.period)
    .limit(MAX_BUREAU_ROWS)
)


def tax_reads(tenant_id: str, customer_id: str, from_period: str) -> list[tuple[sql.Statement, dict]]:
    """A taxpayer's profile and filed returns from `from_period` (YYYY-MM) on, for one batch."""
    names = {"tenant_id": tenant_id, "customer_id": customer_id}
    return [(_TAX_PROFILE, names), (_TAX_FILINGS, names | {"from_period": from_period})]


def tax_from(profile: sql.Rows, filings: sql.Rows) -> tuple[TaxProfileFacts | None, list[TaxFilingFacts]]:
    found = profile.first()
    registered_on = found and found[0]
    if isinstance(registered_on, str):  # SQLite hands dates back as text when not typed by SQLAlchemy
        registered_on = date.fromisoformat(registered_on)
    facts = TaxProfileFacts(registered_on, found[1]) if found else None
    return facts, [TaxFilingFacts(*row) for row in filings.rows]


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
