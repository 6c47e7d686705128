"""Gateway's tables: tenants (developer accounts) and the persona logins of each tenant's world."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from openbank_kit.clock import TenantClock
from openbank_kit.db import UtcDateTime
from openbank_kit.idempotency import IdempotencyRecord
from openbank_kit.tenancy import TenantTables, WorldTemplate


class Tenant(SQLModel, table=True):
    __tablename__ = "tenant"

    tenant_id: str = Field(primary_key=True, max_length=64)
    status: str = Field(max_length=16)  # PROVISIONING | ACTIVE
    initial_access_token_sha256: str = Field(max_length=64, unique=True)
    world_seed: int
    world_as_of: date
    world_retail_customers: int
    world_smes: int
    clock_offset_s: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    # Tokens issued before this instant are void: reset moves it forward.
    tokens_valid_after: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)


class SandboxUser(SQLModel, table=True):
    """Who can log in to the consent pages of a tenant (every persona, every background person)."""

    __tablename__ = "sandbox_user"

    tenant_id: str = Field(primary_key=True, max_length=64)
    username: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(max_length=40)
    display_name: str = Field(max_length=140)
    is_persona: bool


TENANT_TABLES = TenantTables(service="gateway", world_tables=[SandboxUser.__table__])

ALL_TABLES = [
    Tenant.__table__,
    SandboxUser.__table__,
    TenantClock.__table__,
    IdempotencyRecord.__table__,
    WorldTemplate.__table__,
]
