"""Event tables: the outbox (one row per event), the partner's subscription, push deliveries and the key that
signs the SETs. Events, deliveries and subscriptions are tenant runtime data (cleared by a reset)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from openbank_kit.db import UtcDateTime


class EventRecord(SQLModel, table=True):
    """One event, written in the same transaction as the change it reports. `acked_at` set: polled and acked."""

    __tablename__ = "event_record"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_id", name="uq_event_record_event_id"),
        Index("ix_event_record_client", "tenant_id", "client_id", "seq"),
    )

    seq: int | None = Field(default=None, primary_key=True)  # the order events are returned in
    tenant_id: str = Field(max_length=64)
    jti: str = Field(max_length=40, unique=True)
    event_id: str = Field(max_length=128)  # the source's stable id: idempotency of publishing
    client_id: str = Field(max_length=128)
    event_type: str = Field(max_length=100)
    subject: Any = Field(sa_column=Column(JSON, nullable=False))  # ResourceId, ResourceType, ResourceLinks
    txn: str = Field(max_length=128)
    toe: datetime = Field(sa_type=UtcDateTime)  # time of event, tenant clock
    created_at: datetime = Field(sa_type=UtcDateTime)
    acked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    set_error: Any = Field(default=None, sa_column=Column(JSON, nullable=True))  # the partner's setErrs entry


class EventSubscription(SQLModel, table=True):
    """OBIE allows one subscription per client."""

    __tablename__ = "event_subscription"
    __table_args__ = (UniqueConstraint("tenant_id", "client_id", name="uq_event_subscription_client"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    subscription_id: str = Field(primary_key=True, max_length=40)
    client_id: str = Field(max_length=128)
    callback_url: str | None = Field(default=None, max_length=500)
    version: str = Field(max_length=10)
    event_types: Any = Field(default=None, sa_column=Column(JSON, nullable=True))  # None: every type
    fault: str | None = Field(default=None, max_length=40)  # x-openbank-fault: webhook-failure
    created_at: datetime = Field(sa_type=UtcDateTime)


class EventDelivery(SQLModel, table=True):
    """A push of one event to one subscription's CallbackUrl: PENDING → DELIVERED | DEAD_LETTERED."""

    __tablename__ = "event_delivery"
    __table_args__ = (Index("ix_event_delivery_due", "status", "next_attempt_at"),)

    delivery_id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64, index=True)
    event_seq: int
    subscription_id: str = Field(max_length=40)
    client_id: str = Field(max_length=128)
    callback_url: str = Field(max_length=500)
    fault: str | None = Field(default=None, max_length=40)
    status: str = Field(max_length=16)
    # [{AttemptedAt, ResponseStatus, LatencyMs, Error, ResponseContentType, ResponseBody (≤ 2,048 chars), ...}]
    attempts: Any = Field(sa_column=Column(JSON, nullable=False))
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)  # wall clock; also the lease end while claimed
    set_jwt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # signed once, re-sent


class EventSigningKey(SQLModel, table=True):
    """Payments' own SET signing key (not per tenant); its public JWK is merged into the gateway's JWKS."""

    __tablename__ = "event_signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    private_jwk: Any = Field(sa_column=Column(JSON, nullable=False))
    public_jwk: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime)


RUNTIME_TABLES = [EventRecord.__table__, EventSubscription.__table__, EventDelivery.__table__]
