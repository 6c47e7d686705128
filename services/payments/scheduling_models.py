"""Tables of scheduled payments and standing orders (migration 0006). Every row carries its tenant.

One consent table and one order table serve both kinds (`kind`); each payment an order makes is one
`scheduled_execution` row, unique per (order, occurrence), whose id is the ledger idempotency key.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from openbank_kit.db import UtcDateTime

KIND_SCHEDULED = "domestic-scheduled-payment"
KIND_STANDING_ORDER = "domestic-standing-order"


def _fen() -> Column:
    return Column(BigInteger, nullable=False)


class ScheduledConsent(SQLModel, table=True):
    """A scheduled payment or standing order consent: the partner's Initiation and Risk, then the customer's
    decision (the same states as a domestic payment consent, plus CANC when the customer revokes it)."""

    __tablename__ = "scheduled_consent"

    tenant_id: str = Field(primary_key=True, max_length=64)
    consent_id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=32)  # KIND_SCHEDULED | KIND_STANDING_ORDER
    client_id: str = Field(max_length=128)
    status: str = Field(max_length=4)  # AWAU | AUTH | RJCT | COND | EXPD | CANC
    initiation: Any = Field(sa_column=Column(JSON, nullable=False))
    risk: Any = Field(sa_column=Column(JSON, nullable=False))
    creditor_identification: str = Field(max_length=34)
    creditor_account_id: str | None = Field(default=None, max_length=40)  # set when the creditor banks here
    creditor_name: str = Field(max_length=350)
    debtor_identification: str | None = Field(default=None, max_length=34)
    customer_id: str | None = Field(default=None, max_length=40)
    debtor_account_id: str | None = Field(default=None, max_length=40)
    debtor_account_class: str | None = Field(default=None, max_length=10)
    debtor_name: str | None = Field(default=None, max_length=350)
    first_due_at: datetime = Field(sa_type=UtcDateTime)  # RequestedExecutionDateTime / FirstPaymentDateTime
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class ScheduledOrder(SQLModel, table=True):
    """A scheduled payment (one occurrence) or a standing order; one per consent."""

    __tablename__ = "scheduled_order"
    __table_args__ = (
        UniqueConstraint("tenant_id", "consent_id", name="uq_scheduled_order_consent"),
        Index("ix_scheduled_order_due", "tenant_id", "status", "next_due_at"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=32)
    consent_id: str = Field(max_length=40)
    client_id: str = Field(max_length=128)
    customer_id: str = Field(max_length=40)
    status: str = Field(max_length=8)  # ACTIVE (more to pay) | ENDED | CANC
    status_reason: str | None = Field(default=None, max_length=500)
    debtor_account_id: str = Field(max_length=40)
    credit_account_id: str = Field(max_length=40)  # the creditor here, or the outbound clearing account
    next_occurrence: int = Field(default=1)
    next_due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # None once ended or cancelled
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)


class ScheduledExecution(SQLModel, table=True):
    """One payment an order made (or tried to): PDNG while posting, then ACSC or RJCT."""

    __tablename__ = "scheduled_execution"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id", "occurrence", name="uq_scheduled_execution_occurrence"),
        Index("ix_scheduled_execution_status", "tenant_id", "status"),
    )

    tenant_id: str = Field(primary_key=True, max_length=64)
    execution_id: str = Field(primary_key=True, max_length=60)  # "<order id>-<occurrence>": the ledger key
    order_id: str = Field(max_length=40)
    occurrence: int
    due_at: datetime = Field(sa_type=UtcDateTime)
    amount_fen: int = Field(sa_column=_fen())
    status: str = Field(max_length=4)  # PDNG | ACSC | RJCT
    status_reason_code: str | None = Field(default=None, max_length=4)
    status_reason: str | None = Field(default=None, max_length=500)
    outflow_day: date  # the day (of the due date) its amount counts against the limits
    ledger_transaction_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=UtcDateTime)
    status_updated_at: datetime = Field(sa_type=UtcDateTime)


RUNTIME_TABLES = [ScheduledConsent.__table__, ScheduledOrder.__table__, ScheduledExecution.__table__]
