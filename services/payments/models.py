"""Payments' tables: the biller directory and bills (world), domestic payment consents, payments and the
outflow counters behind the account class limits (runtime). Every row carries its tenant."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from openbank_kit.clock import TenantClock
from openbank_kit.db import UtcDateTime
from openbank_kit.idempotency import IdempotencyRecord
from openbank_kit.tenancy import TenantTables, WorldTemplate
from services.payments.events.models import RUNTIME_TABLES as EVENT_TABLES
from services.payments.events.models import EventSigningKey
from services.payments.scheduling_models import RUNTIME_TABLES as SCHEDULING_TABLES


class Biller(SQLModel, table=True):
    __tablename__ = "biller"

    tenant_id: str = Field(primary_key=True, max_length=64)
    biller_id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=140)
    category: str = Field(max_length=16)  # GAS | WATER | ELECTRICITY | TELECOM | TRANSIT
    settlement_account_id: str = Field(max_length=40)
    reference_label: str = Field(max_length=35)
    reference_pattern: str = Field(max_length=100)


class Bill(SQLModel, table=True):
    __tablename__ = "bill"
    __table_args__ = (
        Index("ix_bill_tenant_biller_reference", "tenant_id", "biller_id", "customer_reference"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    bill_id: str = Field(primary_key=True, max_length=40)
    biller_id: str = Field(max_length=40)
    customer_reference: str = Field(max_length=35)
    customer_id: str = Field(max_length=40)
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    due_date: date
    status: str = Field(max_length=16)  # OUTSTANDING | PAID


def _fen() -> Column:
    return Column(BigInteger, nullable=False)


class DomesticPaymentConsent(SQLModel, table=True):
    """A PISP domestic payment consent: the partner's Initiation and Risk, then the customer's decision."""

    __tablename__ = "domestic_payment_consent"

    tenant_id: str = Field(primary_key=True, max_length=64)
    consent_id: str = Field(primary_key=True, max_length=40)
    client_id: str = Field(max_length=128)
    status: str = Field(max_length=4)  # AWAU | AUTH | RJCT | COND | EXPD
    initiation: Any = Field(sa_column=Column(JSON, nullable=False))  # as the partner sent it (None dropped)
    risk: Any = Field(sa_column=Column(JSON, nullable=False))
    amount_fen: int = Field(sa_column=_fen())
    creditor_identification: str = Field(max_length=34)
    creditor_account_id: str | None = Field(default=None, max_length=40)  # set when the creditor banks here
    creditor_name: str = Field(max_length=350)
    debtor_identification: str | None = Field(
        default=None, max_length=34
    )  # named in the Initiation, or chosen
    customer_id: str | None = Field(default=None, max_length=40)
    debtor_account_id: str | None = Field(default=None, max_length=40)  # chosen at authorisation
    debtor_account_class: str | None = Field(default=None, max_length=10)
    debtor_name: str | None = Field(default=None, max_length=350)
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class DomesticPayment(SQLModel, table=True):
    """A payment order; one per consent (the unique constraint is the last word on "used twice")."""

    __tablename__ = "domestic_payment"
    __table_args__ = (
        UniqueConstraint("tenant_id", "consent_id", name="uq_domestic_payment_consent"),
        Index("ix_domestic_payment_status", "tenant_id", "status"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    payment_id: str = Field(primary_key=True, max_length=40)
    consent_id: str = Field(max_length=40)
    client_id: str = Field(max_length=128)
    customer_id: str = Field(max_length=40)
    status: str = Field(max_length=4)  # RCVD | ACCC | ACSP | ACSC | RJCT
    status_reason_code: str | None = Field(default=None, max_length=4)
    status_reason: str | None = Field(default=None, max_length=500)
    amount_fen: int = Field(sa_column=_fen())
    debtor_account_id: str = Field(max_length=40)
    credit_account_id: str = Field(
        max_length=40
    )  # the creditor's account here, or the outbound clearing account
    outflow_day: date  # the Asia/Shanghai day its amount is counted against the account class limits
    ledger_transaction_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)
    # A sandbox fault asked for with the payment (services/payments/faults.py), kept so that settling it after a
    # crash or at a clock move behaves the same: insufficient-funds | slow-clearing.
    fault: str | None = Field(default=None, max_length=40)


class CustomerOutflowDay(SQLModel, table=True):
    """PISP outflows of one customer (all accounts) on one day: the bank's channel limit, locked like the account's."""

    __tablename__ = "customer_outflow_day"

    tenant_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(primary_key=True, max_length=40)
    day: date = Field(primary_key=True)
    outflow_fen: int = Field(sa_column=_fen())


class AccountOutflowDay(SQLModel, table=True):
    """PISP outflows of one account on one day, counted before posting; the row lock serialises the check."""

    __tablename__ = "account_outflow_day"

    tenant_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=40)
    day: date = Field(primary_key=True)
    outflow_fen: int = Field(sa_column=_fen())


class FundsConfirmationConsent(SQLModel, table=True):
    """A CBPII consent: the customer lets the partner ask whether one named account can cover an amount."""

    __tablename__ = "funds_confirmation_consent"

    tenant_id: str = Field(primary_key=True, max_length=64)
    consent_id: str = Field(primary_key=True, max_length=40)
    client_id: str = Field(max_length=128)
    status: str = Field(max_length=4)  # AWAU | AUTH | RJCT | CANC | EXPD
    debtor_account: Any = Field(
        sa_column=Column(JSON, nullable=False)
    )  # DebtorAccount as the partner sent it
    debtor_identification: str = Field(max_length=34)
    customer_id: str | None = Field(default=None, max_length=40)
    debtor_account_id: str | None = Field(default=None, max_length=40)  # resolved at authorisation
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LargeValueRecord(SQLModel, table=True):
    """A large-value transaction report (大额交易报告): written once per holder and day, when the day's settled
    transfers reach the PBOC threshold (services/payments/large_value.py)."""

    __tablename__ = "large_value_record"
    __table_args__ = (
        UniqueConstraint("tenant_id", "subject_id", "day", name="uq_large_value_record_subject_day"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(primary_key=True, max_length=40)
    subject_id: str = Field(max_length=40)  # the personal customer, or the corporate account (one per SME)
    holder_kind: str = Field(max_length=10)  # PERSONAL | CORPORATE
    customer_id: str = Field(max_length=40)  # who authorised the transfers
    account_id: str = Field(max_length=40)  # the account of the transfer that reached the threshold
    holder_name: str = Field(max_length=350)
    day: date  # Asia/Shanghai
    total_fen: int = Field(sa_column=_fen())
    threshold_fen: int = Field(sa_column=_fen())
    reason_code: str = Field(max_length=4)  # 大额交易特征代码: 0502 corporate, 0503 personal domestic
    payment_ids: Any = Field(sa_column=Column(JSON, nullable=False))  # the day's transfers, in order
    created_at: datetime = Field(sa_type=UtcDateTime)


_RUNTIME = [
    AccountOutflowDay.__table__,
    LargeValueRecord.__table__,
    CustomerOutflowDay.__table__,
    DomesticPayment.__table__,
    DomesticPaymentConsent.__table__,
    FundsConfirmationConsent.__table__,
    *EVENT_TABLES,  # events, their deliveries and subscriptions: a reset empties them
    *SCHEDULING_TABLES,  # scheduled payments and standing orders (scheduling_models.py)
]
TENANT_TABLES = TenantTables(
    service="payments", world_tables=[Biller.__table__, Bill.__table__], runtime_tables=_RUNTIME
)

ALL_TABLES = [
    Biller.__table__,
    Bill.__table__,
    *_RUNTIME,
    TenantClock.__table__,
    IdempotencyRecord.__table__,
    WorldTemplate.__table__,
    EventSigningKey.__table__,
]
