"""Loans' tables: what the credit decision reads (bureau files, tax records, blacklist). Every row carries its tenant."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from openbank_kit.clock import TenantClock
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


_WORLD = [
    BureauSubject.__table__,
    BureauCreditAccount.__table__,
    BureauInquiry.__table__,
    FraudBlacklistEntry.__table__,
    TaxProfile.__table__,
    TaxFiling.__table__,
]
TENANT_TABLES = TenantTables(service="loans", world_tables=_WORLD)

ALL_TABLES = [*_WORLD, TenantClock.__table__, IdempotencyRecord.__table__, WorldTemplate.__table__]
