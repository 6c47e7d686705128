"""Annotated dependencies of the gateway's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.models import Tenant
from gateway.sandbox.service import TenantService


async def tenant_service(request: Request) -> TenantService:
    return request.app.state.tenant_service


TenantServiceDep = Annotated[TenantService, Depends(tenant_service)]


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def initial_access_tenant(request: Request, tenants: TenantServiceDep) -> Tenant:
    """The tenant whose initial access token authorises this call."""
    return tenants.authenticate(bearer_token(request))


InitialAccessTenant = Annotated[Tenant, Depends(initial_access_tenant)]
