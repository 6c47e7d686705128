"""How the gateway reaches each service's tenant lifecycle: over internal HTTP, or in-process (CLI, tests)."""

from __future__ import annotations

from typing import Protocol

from openbank_kit.db import Database
from openbank_kit.http_client import ServiceClient
from openbank_kit.tenancy import TenantTables, WorldSpec, drop_tenant, load_tenant


class ServiceCallFailed(Exception):
    """A service refused or could not be reached; the message says which and why."""


class TenantPort(Protocol):
    name: str

    def load(self, tenant_id: str, spec: WorldSpec, clock_offset_s: int) -> dict[str, int]: ...

    def drop(self, tenant_id: str) -> None: ...

    def set_clock(self, tenant_id: str, offset_s: int) -> None: ...


class LocalTenantPort:
    """A service's database opened in this process."""

    def __init__(self, name: str, db: Database, tables: TenantTables):
        self.name, self.db, self.tables = name, db, tables

    def load(self, tenant_id: str, spec: WorldSpec, clock_offset_s: int) -> dict[str, int]:
        return load_tenant(self.db, self.tables, tenant_id, spec, clock_offset_s)

    def drop(self, tenant_id: str) -> None:
        drop_tenant(self.db, self.tables, tenant_id)

    def set_clock(self, tenant_id: str, offset_s: int) -> None:
        from openbank_kit.clock import set_clock_offset

        with self.db.write_session() as session:
            set_clock_offset(session, tenant_id, offset_s)
            session.commit()


class HttpTenantPort:
    """A running service, through its internal tenant routes."""

    def __init__(self, name: str, client: ServiceClient):
        self.name, self.client = name, client

    def load(self, tenant_id: str, spec: WorldSpec, clock_offset_s: int) -> dict[str, int]:
        world = spec.to_json()
        body = {
            "World": {
                "Seed": world["seed"],
                "AsOf": world["as_of"],
                "RetailCustomers": world["retail_customers"],
                "Smes": world["smes"],
            },
            "ClockOffsetSeconds": clock_offset_s,
        }
        return self._call("PUT", f"/internal/v1/tenants/{tenant_id}", body).json()["Rows"]

    def drop(self, tenant_id: str) -> None:
        self._call("DELETE", f"/internal/v1/tenants/{tenant_id}", None)

    def set_clock(self, tenant_id: str, offset_s: int) -> None:
        self._call("PUT", f"/internal/v1/tenants/{tenant_id}/clock", {"OffsetSeconds": offset_s})

    def _call(self, method: str, path: str, body: dict | None):
        from openbank_kit.http_client import ServiceCallError

        try:
            response = self.client.request(method, path, json=body)
        except ServiceCallError as exc:
            raise ServiceCallFailed(f"{self.name} service unreachable: {exc}") from None
        if response.status_code >= 300:
            raise ServiceCallFailed(
                f"{self.name} service answered {response.status_code}: {response.text[:300]}"
            )
        return response
