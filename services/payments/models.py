"""Payments' tables: the biller directory and bills. Every row carries its tenant."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from openbank_kit.clock import TenantClock
from openbank_kit.idempotency import IdempotencyRecord
from openbank_kit.tenancy import TenantTables, WorldTemplate


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


TENANT_TABLES = TenantTables(service="payments", world_tables=[Biller.__table__, Bill.__table__])

ALL_TABLES = [
    Biller.__table__,
    Bill.__table__,
    TenantClock.__table__,
    IdempotencyRecord.__table__,
    WorldTemplate.__table__,
]
