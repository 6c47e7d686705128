"""Gateway's tables: tenants (developer accounts) and the persona logins of each tenant's world."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from gateway.portal.models import PORTAL_TABLES
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


class SigningKey(SQLModel, table=True):
    """The gateway's token-signing keys. The private half never leaves this table (not logged, not served)."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=10)
    private_jwk: Any = Field(sa_column=Column(JSON, nullable=False))
    public_jwk: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime)
    # Rotated keys stop signing at once but stay in the JWKS until tokens they signed have expired.
    retired_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class OAuthClient(SQLModel, table=True):
    """A partner app (RFC 7591 client). Belongs to one tenant; survives the tenant's reset."""

    __tablename__ = "oauth_client"

    client_id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=64)
    profile: str = Field(max_length=16)  # fapi2 | sandbox-basic
    token_endpoint_auth_method: str = Field(max_length=32)
    client_secret_sha256: str | None = Field(default=None, max_length=64)
    registration_access_token_sha256: str = Field(max_length=64, unique=True)
    client_metadata: Any = Field(
        sa_column=Column(JSON, nullable=False)
    )  # every registered field, defaults included
    client_id_issued_at: int
    created_at: datetime = Field(sa_type=UtcDateTime)


class RevokedToken(SQLModel, table=True):
    """Access tokens revoked before their expiry (RFC 7009); rows past `expires_at` can be purged."""

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64)
    tenant_id: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class PushedAuthorizationRequest(SQLModel, table=True):
    """RFC 9126: an authorization request pushed by an authenticated client, used once through its request_uri."""

    __tablename__ = "pushed_authorization_request"

    request_uri: str = Field(primary_key=True, max_length=120)
    tenant_id: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    parameters: Any = Field(sa_column=Column(JSON, nullable=False))
    dpop_jkt: str | None = Field(default=None, max_length=64)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AuditRecord(SQLModel, table=True):
    """One row per API call through the front door (JR/T 0185: API calls are logged and kept)."""

    __tablename__ = "audit_record"
    __table_args__ = (Index("ix_audit_record_tenant_time", "tenant_id", "recorded_at"),)

    tenant_id: str = Field(primary_key=True, max_length=64)
    audit_id: str = Field(primary_key=True, max_length=40)
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    client_id: str = Field(max_length=64)
    subject: str = Field(max_length=64)
    consent_id: str | None = Field(default=None, max_length=64)
    method: str = Field(max_length=8)
    path: str = Field(max_length=300)
    status_code: int
    latency_ms: float
    interaction_id: str = Field(max_length=100)


class AuthorizationInteraction(SQLModel, table=True):
    """One customer's pass through the consent pages, from /oauth2/authorize to the redirect back to the client.

    Starting it uses up the pushed request; the browser holding `browser_secret` (cookie + form field) finishes it.
    """

    __tablename__ = "authorization_interaction"

    interaction_id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    parameters: Any = Field(sa_column=Column(JSON, nullable=False))
    dpop_jkt: str | None = Field(default=None, max_length=64)
    browser_secret_sha256: str = Field(max_length=64)
    customer_id: str | None = Field(default=None, max_length=40)
    auth_time: int | None = None
    expires_at: datetime = Field(sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AuthorizationCode(SQLModel, table=True):
    """An authorization code (stored hashed): 60 s, single use, bound to PKCE, the redirect URI and the DPoP key."""

    __tablename__ = "authorization_code"

    code_sha256: str = Field(primary_key=True, max_length=64)
    grant_id: str = Field(max_length=40)
    tenant_id: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    customer_id: str = Field(max_length=40)
    redirect_uri: str = Field(max_length=1000)
    scope: str = Field(max_length=200)
    nonce: str | None = Field(default=None, max_length=64)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=10)
    intent_id: str | None = Field(default=None, max_length=64)
    dpop_jkt: str | None = Field(default=None, max_length=64)
    auth_time: int
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class OAuthGrant(SQLModel, table=True):
    """What a customer granted a client, once: the refresh token's home, and what revoking a reused code revokes."""

    __tablename__ = "oauth_grant"

    grant_id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    client_id: str = Field(max_length=64)
    customer_id: str = Field(max_length=40)
    scope: str = Field(max_length=200)
    intent_id: str | None = Field(default=None, max_length=64)
    refresh_token_sha256: str | None = Field(default=None, max_length=64, unique=True)
    auth_time: int
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AppSetting(SQLModel, table=True):
    """A tenant's sandbox switches for one of its apps: fault toggles and a lower rate limit. Survives reset."""

    __tablename__ = "app_setting"

    tenant_id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(primary_key=True, max_length=64)
    faults: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rate_limit_per_s: int | None = None  # None: the app's registered limit
    updated_at: datetime = Field(sa_type=UtcDateTime)


TENANT_TABLES = TenantTables(
    service="gateway",
    world_tables=[SandboxUser.__table__],
    runtime_tables=[
        AuditRecord.__table__,
        AuthorizationInteraction.__table__,
        AuthorizationCode.__table__,
        OAuthGrant.__table__,
    ],
)

ALL_TABLES = [
    Tenant.__table__,
    SigningKey.__table__,
    OAuthClient.__table__,
    RevokedToken.__table__,
    PushedAuthorizationRequest.__table__,
    AuditRecord.__table__,
    AuthorizationInteraction.__table__,
    AuthorizationCode.__table__,
    OAuthGrant.__table__,
    AppSetting.__table__,
    SandboxUser.__table__,
    TenantClock.__table__,
    IdempotencyRecord.__table__,
    WorldTemplate.__table__,
    *PORTAL_TABLES,
]
