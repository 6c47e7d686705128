"""Loans' tables: what the credit decision reads (bureau files, tax records, blacklist) and what lending creates
(consents, applications, decisions, loans, instalments, repayments). Every row carries its tenant."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from openbank_kit.clock import TenantClock
from openbank_kit.db import UtcDateTime
from openbank_kit.idempotency import IdempotencyRecord
from openbank_kit.tenancy import TenantTables, WorldTemplate


def _fen() -> Column:
    return Column(BigInteger, nullable=False)


class BureauSubject(SQLModel, table=True):
    __tablename__ = "bureau_subject"

    tenant_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(primary_key=True, max_length=40)
    id_number: str = Field(max_length=18)
    full_name: str = Field(max_length=140)
    report_date: date
    provident_fund_monthly_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    first_credit_on: date | None = None


class BureauCreditAccount(SQLModel, table=True):
    __tablename__ = "bureau_credit_account"
    __table_args__ = (Index("ix_bureau_credit_account_subject", "tenant_id", "customer_id"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    credit_account_id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=40)
    lender_name: str = Field(max_length=140)
    account_type: str = Field(max_length=20)
    opened_on: date
    credit_limit_fen: int = Field(sa_column=_fen())
    outstanding_fen: int = Field(sa_column=_fen())
    monthly_payment_fen: int = Field(sa_column=_fen())
    status: str = Field(max_length=10)  # ACTIVE | CLOSED | OVERDUE
    overdue_count_24m: int
    max_overdue_days_24m: int
    current_overdue_fen: int = Field(sa_column=_fen())


class BureauInquiry(SQLModel, table=True):
    __tablename__ = "bureau_inquiry"
    __table_args__ = (Index("ix_bureau_inquiry_subject", "tenant_id", "customer_id"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    inquiry_id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=40)
    inquired_on: date
    institution_name: str = Field(max_length=140)
    reason: str = Field(max_length=24)


class FraudBlacklistEntry(SQLModel, table=True):
    __tablename__ = "fraud_blacklist"
    __table_args__ = (Index("ix_fraud_blacklist_id_number", "tenant_id", "id_number"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    entry_id: str = Field(primary_key=True, max_length=40)
    id_type: str = Field(max_length=16)
    id_number: str = Field(max_length=18)
    full_name: str = Field(max_length=140)
    reason: str = Field(max_length=140)
    listed_on: date
    source: str = Field(max_length=70)


class TaxProfile(SQLModel, table=True):
    __tablename__ = "tax_profile"

    tenant_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(primary_key=True, max_length=40)
    uscc: str = Field(max_length=18)
    taxpayer_name: str = Field(max_length=140)
    taxpayer_type: str = Field(max_length=12)
    tax_credit_grade: str = Field(max_length=1)
    registered_on: date
    industry: str = Field(max_length=70)


class TaxFiling(SQLModel, table=True):
    __tablename__ = "tax_filing"
    __table_args__ = (Index("ix_tax_filing_taxpayer", "tenant_id", "customer_id"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    filing_id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=40)
    uscc: str = Field(max_length=18)
    period: str = Field(max_length=7)
    revenue_fen: int = Field(sa_column=_fen())
    vat_fen: int = Field(sa_column=_fen())
    income_tax_fen: int = Field(sa_column=_fen())
    filed_on: date
    status: str = Field(max_length=10)


class LendingConsent(SQLModel, table=True):
    """A loan-application consent: the customer authorises the credit inquiry and the application."""

    __tablename__ = "lending_consent"

    tenant_id: str = Field(primary_key=True, max_length=64)
    consent_id: str = Field(primary_key=True, max_length=40)
    client_id: str = Field(max_length=128)
    status: str = Field(max_length=4)  # AWAU | AUTH | RJCT | COND | EXPD
    product_id: str = Field(max_length=40)
    amount_fen: int = Field(sa_column=_fen())
    term_months: int
    repayment_method: str = Field(max_length=20)
    purpose: str = Field(max_length=140)
    payee_account_id: str | None = Field(default=None, max_length=40)  # 受托支付: disbursed to the merchant
    details: Any = Field(sa_column=Column(JSON, nullable=False))  # the consent's Data as the partner sent it
    customer_id: str | None = Field(default=None, max_length=40)
    account_id: str | None = Field(
        default=None, max_length=40
    )  # the customer's account chosen at authorisation
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class LoanApplication(SQLModel, table=True):
    __tablename__ = "loan_application"
    __table_args__ = (
        UniqueConstraint("tenant_id", "consent_id", name="uq_loan_application_consent"),
        Index("ix_loan_application_customer", "tenant_id", "customer_id", "created_at"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    application_id: str = Field(primary_key=True, max_length=40)
    consent_id: str = Field(max_length=40)
    client_id: str = Field(max_length=128)
    customer_id: str = Field(max_length=40)
    status: str = Field(max_length=10)  # APPROVED | REFERRED | DECLINED | ACCEPTED | EXPIRED
    decision_id: str = Field(max_length=40)
    offer_id: str | None = Field(default=None, max_length=40)
    offer_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)


class CreditDecision(SQLModel, table=True):
    """Every decision's inputs, rule hits, score and output, kept so that it can be shown and replayed."""

    __tablename__ = "credit_decision"

    tenant_id: str = Field(primary_key=True, max_length=64)
    decision_id: str = Field(primary_key=True, max_length=40)
    application_id: str = Field(max_length=40)
    client_id: str = Field(max_length=128)
    customer_id: str = Field(max_length=40)
    rules_version: str = Field(max_length=40)
    outcome: str = Field(max_length=10)
    request: Any = Field(sa_column=Column(JSON, nullable=False))
    features: Any = Field(sa_column=Column(JSON, nullable=False))
    result: Any = Field(sa_column=Column(JSON, nullable=False))
    decided_at: datetime = Field(sa_type=UtcDateTime)


class Loan(SQLModel, table=True):
    __tablename__ = "loan"
    __table_args__ = (
        UniqueConstraint("tenant_id", "application_id", name="uq_loan_application"),
        Index("ix_loan_customer", "tenant_id", "customer_id"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    loan_id: str = Field(primary_key=True, max_length=40)
    application_id: str = Field(max_length=40)
    offer_id: str = Field(max_length=40)
    client_id: str = Field(max_length=128)
    customer_id: str = Field(max_length=40)
    product_id: str = Field(max_length=40)
    principal_fen: int = Field(sa_column=_fen())
    outstanding_principal_fen: int = Field(sa_column=_fen())
    annual_rate: str = Field(max_length=12)  # a decimal fraction, e.g. "0.0550"
    term_months: int
    repayment_method: str = Field(max_length=20)
    status: str = Field(max_length=10)  # DISBURSING | ACTIVE | OVERDUE | CLOSED
    disbursement_account_id: str = Field(
        max_length=40
    )  # where the money goes (the customer's, or the payee's)
    repayment_account_id: str = Field(max_length=40)  # the customer's account instalments are taken from
    start_date: date
    disbursement_transaction_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=UtcDateTime)
    disbursed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The loan receivable in the ledger (accounts opens it at disbursement; its id is the LoanId). None only for
    # loans disbursed before the loan book existed, whose principal went through the clearing account.
    loan_account_id: str | None = Field(default=None, max_length=40)


class LoanInstalment(SQLModel, table=True):
    __tablename__ = "loan_instalment"

    tenant_id: str = Field(primary_key=True, max_length=64)
    loan_id: str = Field(primary_key=True, max_length=40)
    sequence: int = Field(primary_key=True)
    due_date: date
    principal_fen: int = Field(sa_column=_fen())
    interest_fen: int = Field(sa_column=_fen())
    remaining_principal_fen: int = Field(sa_column=_fen())
    status: str = Field(max_length=10)  # DUE | PAID | OVERDUE


class LoanRepayment(SQLModel, table=True):
    __tablename__ = "loan_repayment"
    __table_args__ = (Index("ix_loan_repayment_loan", "tenant_id", "loan_id"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    repayment_id: str = Field(primary_key=True, max_length=40)
    loan_id: str = Field(max_length=40)
    kind: str = Field(max_length=12)  # PARTIAL | FULL | INSTALMENT
    amount_fen: int = Field(sa_column=_fen())
    principal_fen: int = Field(sa_column=_fen())
    interest_fen: int = Field(sa_column=_fen())
    penalty_fen: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )  # 罚息
    status: str = Field(max_length=10)  # PENDING | BOOKED
    transaction_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=UtcDateTime)


class LoanEvent(SQLModel, table=True):
    """Outbox of the loan's resource-update events: written in the unit of work of the status change, published
    to payments' event API after the commit and retried until payments has it (the EventId makes it once)."""

    __tablename__ = "loan_event"
    __table_args__ = (Index("ix_loan_event_pending", "tenant_id", "published_at"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=128)
    loan_id: str = Field(max_length=40)
    client_id: str = Field(max_length=128)
    change: str = Field(max_length=20)  # DISBURSED | INSTALMENT_PAID | OVERDUE | CURED | REPAYMENT | REPAID
    loan_status: str = Field(max_length=10)  # the loan's status after the change
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    attempts: int = 0
    published_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LedgerSnapshot(SQLModel, table=True):
    """The ledger's answer for a customer (accounts' cash-flow profile, organisations included), kept for the month it
    was asked in (Asia/Shanghai, tenant clock).

    It holds for that month: its figures are those of closed months, which never change (every posting is booked at
    the tenant's current time), and the customer's identity, accounts and organisations change only with the world
    (a reset empties this table too). The next month asks the ledger again. Nothing else reads it: the consent page
    asks the ledger live.
    """

    __tablename__ = "ledger_snapshot"

    tenant_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(primary_key=True, max_length=40)
    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM: the open month the profile was asked in
    profile: Any = Field(sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = Field(sa_type=UtcDateTime)


_WORLD = [
    BureauSubject.__table__,
    BureauCreditAccount.__table__,
    BureauInquiry.__table__,
    FraudBlacklistEntry.__table__,
    TaxProfile.__table__,
    TaxFiling.__table__,
]
_RUNTIME = [
    LedgerSnapshot.__table__,
    LoanEvent.__table__,
    LoanRepayment.__table__,
    LoanInstalment.__table__,
    Loan.__table__,
    CreditDecision.__table__,
    LoanApplication.__table__,
    LendingConsent.__table__,
]
TENANT_TABLES = TenantTables(service="loans", world_tables=_WORLD, runtime_tables=_RUNTIME)

ALL_TABLES = [*_WORLD, *_RUNTIME, TenantClock.__table__, IdempotencyRecord.__table__, WorldTemplate.__table__]
