"""Accounts' tables: customers, accounts and the double-entry ledger. Every row carries its tenant."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from openbank_kit.clock import TenantClock
from openbank_kit.db import UtcDateTime
from openbank_kit.idempotency import IdempotencyRecord
from openbank_kit.tenancy import TenantTables, WorldTemplate


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    tenant_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(primary_key=True, max_length=40)
    party_type: str = Field(max_length=16)  # PERSON | ORGANISATION
    full_name: str = Field(max_length=140)
    id_type: str = Field(max_length=16)  # RESIDENT_ID | USCC
    id_number: str = Field(max_length=18)
    mobile: str | None = Field(default=None, max_length=11)
    birth_date: date | None = None
    gender: str | None = Field(default=None, max_length=1)
    region_code: str = Field(max_length=6)
    owner_customer_id: str | None = Field(default=None, max_length=40)
    username: str | None = Field(default=None, max_length=64)
    onboarded_on: date


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (Index("ix_account_tenant_customer", "tenant_id", "customer_id"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=40)
    customer_id: str | None = Field(default=None, max_length=40)  # None for the bank's internal accounts
    account_number: str = Field(max_length=19)
    account_class: str = Field(max_length=10)  # I | II | III | CORPORATE | INTERNAL
    account_type: str = Field(max_length=10)  # OBIE: Personal | Business (Internal for the bank's own)
    account_subtype: str = Field(max_length=20)
    currency: str = Field(max_length=3)
    nickname: str = Field(max_length=70)
    opened_on: date
    bound_account_id: str | None = Field(default=None, max_length=40)
    bound_external_account_number: str | None = Field(default=None, max_length=34)
    status: str = Field(max_length=16)


class LedgerTransaction(SQLModel, table=True):
    __tablename__ = "ledger_transaction"

    tenant_id: str = Field(primary_key=True, max_length=64)
    transaction_id: str = Field(primary_key=True, max_length=40)
    booked_at: datetime = Field(sa_type=UtcDateTime)
    value_date: date
    category: str = Field(max_length=20)
    description: str = Field(max_length=140)
    counterparty_name: str | None = Field(default=None, max_length=140)
    counterparty_account_number: str | None = Field(default=None, max_length=34)
    merchant_category_code: str | None = Field(default=None, max_length=4)
    reference: str | None = Field(default=None, max_length=64)


class Posting(SQLModel, table=True):
    """One leg of a ledger transaction; positive credits the account. Immutable once written."""

    __tablename__ = "posting"
    # The primary key leads with the account: postings are read by account (balances, statements), and one
    # index instead of two halves the cost of copying a tenant's world. Posting ids are "<transaction_id>-<n>".
    # On PostgreSQL the key's index also INCLUDEs amount_fen (migration 0005): balances are index-only sums.
    tenant_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=40)
    posting_id: str = Field(primary_key=True, max_length=44)
    transaction_id: str = Field(max_length=40)
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))


class AccountAccessConsent(SQLModel, table=True):
    """An AISP consent (OBIE account-access-consent): created by a client, decided by the customer."""

    __tablename__ = "account_access_consent"

    tenant_id: str = Field(primary_key=True, max_length=64)
    consent_id: str = Field(primary_key=True, max_length=40)
    client_id: str = Field(max_length=128)
    status: str = Field(max_length=4)  # AWAU | AUTH | RJCT | CANC | EXPD
    permissions: list[str] = Field(sa_column=Column(JSON, nullable=False))
    expiration_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    transaction_from_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    transaction_to_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)
    customer_id: str | None = Field(default=None, max_length=40)  # set when the customer decides
    account_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    request_data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # Data as the client sent it


class LedgerHold(SQLModel, table=True):
    """Money set aside on a customer account for a pending payment: lowers the available balance only."""

    __tablename__ = "ledger_hold"
    __table_args__ = (Index("ix_ledger_hold_tenant_account_status", "tenant_id", "account_id", "status"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    hold_id: str = Field(primary_key=True, max_length=40)
    account_id: str = Field(max_length=40)
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(max_length=8)  # PLACED | CAPTURED | RELEASED
    reference: str | None = Field(default=None, max_length=64)
    description: str = Field(max_length=140)
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)
    transaction_id: str | None = Field(default=None, max_length=40)  # the capture's ledger transaction


class CustomerMonthFigures(SQLModel, table=True):
    """A customer's figures for one closed calendar month (Asia/Shanghai), over their deposit accounts.

    Derived from postings and kept because a closed month never changes: every posting is booked at its tenant's
    current time, so nothing lands in a month that has ended (the world's history is loaded before the tenant
    runs, and a reset empties this table with the rest). Written the first time a credit decision asks.
    """

    __tablename__ = "customer_month_figures"

    tenant_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(primary_key=True, max_length=40)
    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    inflows_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    outflows_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    salary_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    salary_count: int
    month_end_balance_fen: int = Field(sa_column=Column(BigInteger, nullable=False))


TENANT_TABLES = TenantTables(
    service="accounts",
    world_tables=[Customer.__table__, Account.__table__, LedgerTransaction.__table__, Posting.__table__],
    runtime_tables=[AccountAccessConsent.__table__, LedgerHold.__table__, CustomerMonthFigures.__table__],
)

ALL_TABLES = [
    Customer.__table__,
    Account.__table__,
    LedgerTransaction.__table__,
    Posting.__table__,
    AccountAccessConsent.__table__,
    LedgerHold.__table__,
    CustomerMonthFigures.__table__,
    TenantClock.__table__,
    IdempotencyRecord.__table__,
    WorldTemplate.__table__,
]
