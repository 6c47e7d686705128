"""Tenant lifecycle: create (all or nothing), reset, clock, and the initial access token that guards them."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select

from gateway.models import Tenant
from gateway.sandbox.ports import ServiceCallFailed, TenantPort
from openbank_kit.clock import clock_now, wall_clock
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, FieldInvalid, NotFound, ServiceUnavailable, Unauthorized
from openbank_kit.settings import KitSettings
from openbank_kit.tenancy import TENANT_NAME, WorldSpec

SECONDS_PER_DAY = 86_400
ACTIVE_CACHE_S = 1.0  # how long another gateway process may accept tokens from before a reset


@dataclass(frozen=True)
class ProvisionedTenant:
    tenant_id: str
    initial_access_token: str
    rows: dict[str, dict[str, int]]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_initial_access_token() -> str:
    return "iat_" + secrets.token_urlsafe(32)


class TenantService:
    """Owns the gateway's tenant rows and drives every service's copy of the tenant's world."""

    def __init__(self, db: Database, ports: Sequence[TenantPort], settings: KitSettings):
        self.db, self.ports, self.settings = db, list(ports), settings
        # The front door asks for the token's tenant on every call: a short-lived copy spares the database.
        self._active_cache: dict[str, tuple[float, Tenant]] = {}

    def world_spec(self, offset_s: int = 0) -> WorldSpec:
        return WorldSpec(
            seed=self.settings.world_seed,
            as_of=clock_now(offset_s).date(),
            retail_customers=self.settings.world_retail_customers,
            smes=self.settings.world_smes,
        )

    def create(self, name: str, initial_access_token: str | None = None) -> ProvisionedTenant:
        """Create a tenant with its full world in every service, or nothing at all."""
        if not TENANT_NAME.match(name):
            raise FieldInvalid(
                path="Name", message="Name must be 1-40 lower-case letters, digits or inner hyphens"
            )
        token = initial_access_token or new_initial_access_token()
        spec = self.world_spec()
        now = wall_clock()
        with self.db.write_session() as session:
            existing = session.get(Tenant, name)
            if existing is not None and existing.status == "ACTIVE":
                raise Conflict(message=f"tenant {name!r} already exists", path="Name")
            if existing is not None:
                session.delete(existing)  # left over from a provisioning that died half-way
                session.flush()
            session.add(
                Tenant(
                    tenant_id=name,
                    status="PROVISIONING",
                    initial_access_token_sha256=hash_token(token),
                    world_seed=spec.seed,
                    world_as_of=spec.as_of,
                    world_retail_customers=spec.retail_customers,
                    world_smes=spec.smes,
                    clock_offset_s=0,
                    tokens_valid_after=now,
                    created_at=now,
                )
            )
            session.commit()
        try:
            rows = self._load_everywhere(name, spec, 0)
        except ServiceCallFailed as exc:
            self._undo(name)
            raise ServiceUnavailable(message=f"tenant {name!r} was not created: {exc}") from None
        except BaseException:
            self._undo(name)
            raise
        with self.db.write_session() as session:
            tenant = session.get(Tenant, name)
            tenant.status = "ACTIVE"
            session.add(tenant)
            session.commit()
        return ProvisionedTenant(name, token, rows)

    def reset(self, tenant_id: str) -> dict[str, dict[str, int]]:
        """Restore the persona world: data, clock; apps and the initial access token stay; tokens issued before die."""
        tenant = self.get_active(tenant_id)
        spec = self.world_spec()
        try:
            rows = self._load_everywhere(tenant.tenant_id, spec, 0)
        except ServiceCallFailed as exc:
            raise ServiceUnavailable(
                message=f"reset of {tenant_id!r} did not complete, retry it: {exc}"
            ) from None
        with self.db.write_session() as session:
            tenant = session.get(Tenant, tenant_id)
            tenant.clock_offset_s = 0
            tenant.world_as_of = spec.as_of
            tenant.tokens_valid_after = wall_clock()
            session.add(tenant)
            session.commit()
        self._forget(tenant_id)
        return rows

    def delete(self, tenant_id: str) -> None:
        self.get_active(tenant_id)
        self._undo(tenant_id)

    def clock(self, tenant_id: str) -> datetime:
        return clock_now(self.get_active(tenant_id).clock_offset_s)

    def advance_clock(self, tenant_id: str, days: int) -> datetime:
        tenant = self.get_active(tenant_id)
        offset_s = tenant.clock_offset_s + days * SECONDS_PER_DAY
        try:
            self._in_parallel(lambda port: port.set_clock(tenant_id, offset_s))
        except ServiceCallFailed as exc:
            raise ServiceUnavailable(
                message=f"clock of {tenant_id!r} not moved everywhere, retry: {exc}"
            ) from None
        with self.db.write_session() as session:
            tenant = session.get(Tenant, tenant_id)
            tenant.clock_offset_s = offset_s
            session.add(tenant)
            session.commit()
        self._forget(tenant_id)
        return clock_now(offset_s)

    def get_active_cached(self, tenant_id: str) -> Tenant:
        """get_active, remembered for ACTIVE_CACHE_S; a reset or delete in this process forgets it at once."""
        now = time.monotonic()
        cached = self._active_cache.get(tenant_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        tenant = self.get_active(tenant_id)
        if len(self._active_cache) > 10_000:
            self._active_cache.clear()
        self._active_cache[tenant_id] = (now + ACTIVE_CACHE_S, tenant)
        return tenant

    def _forget(self, tenant_id: str) -> None:
        self._active_cache.pop(tenant_id, None)

    def get_active(self, tenant_id: str) -> Tenant:
        with self.db.read_session() as session:
            tenant = session.get(Tenant, tenant_id)
        if tenant is None or tenant.status != "ACTIVE":
            raise NotFound(message=f"unknown tenant {tenant_id!r}")
        return tenant

    def list_tenants(self) -> list[Tenant]:
        with self.db.read_session() as session:
            return list(
                session.scalars(select(Tenant).where(Tenant.status == "ACTIVE").order_by(Tenant.tenant_id))
            )

    def authenticate(self, token: str | None) -> Tenant:
        """The tenant an initial access token belongs to."""
        if not token:
            raise Unauthorized(message="an initial access token is required (Authorization: Bearer ...)")
        digest = hash_token(token)
        with self.db.read_session() as session:
            tenant = session.scalar(select(Tenant).where(Tenant.initial_access_token_sha256 == digest))
        if (
            tenant is None or tenant.status != "ACTIVE"
        ):  # looked up by digest: no secret is compared in Python
            raise Unauthorized(message="the initial access token is not valid")
        return tenant

    def replace_initial_access_token(self, tenant_id: str) -> str:
        token = new_initial_access_token()
        with self.db.write_session() as session:
            tenant = session.get(Tenant, tenant_id)
            tenant.initial_access_token_sha256 = hash_token(token)
            session.add(tenant)
            session.commit()
        return token

    def _load_everywhere(self, tenant_id: str, spec: WorldSpec, offset_s: int) -> dict[str, dict[str, int]]:
        results = self._in_parallel(lambda port: port.load(tenant_id, spec, offset_s))
        return dict(zip([port.name for port in self.ports], results, strict=True))

    def _in_parallel(self, call) -> list:
        # Each service holds its own database, so their loads overlap; the slowest one sets the time.
        with ThreadPoolExecutor(max_workers=len(self.ports), thread_name_prefix="tenant") as pool:
            futures = [pool.submit(call, port) for port in self.ports]
            return [future.result() for future in futures]

    def _undo(self, tenant_id: str) -> None:
        self._forget(tenant_id)
        for port in self.ports:
            try:
                port.drop(tenant_id)
            except Exception as exc:  # best effort: a later create of the same name replaces leftovers
                structlog.get_logger().warning(
                    "tenant rows not dropped", tenant_id=tenant_id, service=port.name, error=str(exc)
                )
        with self.db.write_session() as session:
            tenant = session.get(Tenant, tenant_id)
            if tenant is not None:
                session.delete(tenant)
            session.commit()
